"""Maintenance scripts run by hand (`python -m tools.<name>`); their output is committed."""
