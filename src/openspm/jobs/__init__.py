"""Background jobs: calculation runs (and later other long tasks) queued, run and followed by their progress."""
