"""Pure value types: money, periods, dates, issues and errors.

`core` imports nothing else of openspm; every other layer may import it.
"""
