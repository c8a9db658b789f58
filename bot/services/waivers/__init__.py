"""Waived checklist items that expire: the warning before, and what happens on expiry."""
