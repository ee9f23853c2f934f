"""The calculation engine: classify → credit → measure → incent → pay, with the rule arithmetic in `calc.rules`."""
