"""Users of the web app and API: accounts, roles, linked payees, passwords (admin only, audited)."""
