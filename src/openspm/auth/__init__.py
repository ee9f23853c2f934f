"""Authentication: argon2 passwords, sign-in with throttling, API tokens, the session secret."""
