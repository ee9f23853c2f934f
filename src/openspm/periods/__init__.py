"""Calendars and periods service."""
