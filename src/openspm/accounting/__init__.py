"""Commission accounting (ASC 340-40 / IFRS 15) on stored commissions: schedules and journals."""
