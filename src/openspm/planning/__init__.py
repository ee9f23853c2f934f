"""Sales planning: where to sell (quota setting, capacity; territory design)."""
