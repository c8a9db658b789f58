"""Editing gate definitions: every change a new audited version, and what it does to initiatives and reviews."""
