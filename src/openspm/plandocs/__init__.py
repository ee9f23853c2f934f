"""Plan documents: each payee's plan explained from its plan version and their parameters, with acceptance."""
