"""Schedules only: each job registers when it runs and calls one function of its domain's `scheduled.py`."""
