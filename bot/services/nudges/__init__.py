"""Nudges: who is reminded or escalated to, in their working hours, and what the policy reads."""
