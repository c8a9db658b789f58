"""The formats the audit export writes. Kept free of imports, so `initiative-bot --help` can name them cheaply."""

FORMATS = ("csv", "jsonl")
