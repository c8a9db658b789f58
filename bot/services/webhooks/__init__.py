"""The world outside Slack: outbound webhooks, evidence-link checks and automatic (MLflow) checklist items."""
