"""Regulation: the risk classification questionnaire (admin-owned YAML, versioned) and its results."""
