"""The Slack side of the domains' scheduled work, which the jobs, the CLI and the playground hand in: how a nudge,
a digest, a waiver warning or a revisit prompt reads (the views), and the Slack calls the work needs (users.info,
dnd.info, the chart's upload). The domains word nothing and import nothing from Slack."""
