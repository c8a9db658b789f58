"""Tracked items: conditions of a Conditional Go and expired waivers, each with an owner, a due date and a state."""
