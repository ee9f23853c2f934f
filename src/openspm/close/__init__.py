"""Period lifecycle: calculate, approve, close (a frozen snapshot and its documents), reopen."""
