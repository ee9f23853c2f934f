"""Real time: transactions posted through the API, recomputed live, and the change markers open dashboards watch."""
