"""Disputes: a payee's inquiry about a statement line, the comments both ways, and the analyst's outcome
(an adjustment linked to the dispute, or a reasoned rejection)."""
