"""Initiative Bot: carries an enterprise's AI initiatives through stage gates, in Slack."""
