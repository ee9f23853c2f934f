"""Exports for payroll and finance: payroll files and GL accrual journals, reproducible for closed months."""
