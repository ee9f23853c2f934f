"""openspm."""
