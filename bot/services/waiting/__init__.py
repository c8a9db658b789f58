"""What waits on a person: pending sign-offs, open conditions and expired waivers, defined once."""
