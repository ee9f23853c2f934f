"""The plan language: plan files, validation, the safe expression language."""
