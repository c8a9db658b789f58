"""The events a webhook receiver can subscribe to. Kept free of imports, so `initiative-bot --help` can list them
cheaply."""

EVENT_TYPES = ("initiative.created", "review.opened", "signoff.decided", "stage.changed", "digest.posted",
               "initiative.held", "initiative.recycled", "initiative.killed", "kpi.recorded")
