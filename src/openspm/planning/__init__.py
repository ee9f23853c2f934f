"""Sales planning: territory design and balancing (`territory`), coverage gaps."""
