"""The audit log read back: filtered, paginated, each change as a field diff."""
