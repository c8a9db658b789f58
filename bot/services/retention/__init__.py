"""Retention: rows that only serve for a while (event receipts, sent messages, deliveries...) are pruned."""
