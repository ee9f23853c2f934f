"""openspm: open-source Sales Performance Management."""

__version__ = "0.1.0"
