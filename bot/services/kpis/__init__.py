"""KPIs: an initiative's measures of value (definitions), their actuals over time, how each stands against its
target, and who is due to record them."""
