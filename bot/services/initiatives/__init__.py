"""Initiatives: records, owners, stages, and the portfolio view of them."""
