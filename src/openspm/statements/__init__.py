"""Statements: per payee per month, HTML and PDF, every cent traced to its credits and transactions."""
