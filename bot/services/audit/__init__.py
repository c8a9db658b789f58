"""The audit trail: hash-chained events, the people in them (pseudonymisable), verification and export."""
