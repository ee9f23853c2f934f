"""Plan tests: self-contained scenario folders run in a throwaway store."""
