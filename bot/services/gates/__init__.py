"""Gate definitions: the versioned document per workspace, its rules, its YAML form and the typed catalog."""
