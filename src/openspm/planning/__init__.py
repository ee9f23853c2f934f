"""Sales planning: where to sell. Account segmentation and potential, territory design and balancing, coverage
gaps, quota setting and capacity."""
