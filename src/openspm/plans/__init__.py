"""Plans service: register plan files as effective-dated versions."""
