"""The events a webhook receiver can subscribe to. Kept free of imports, so `initiative-bot --help` can list them
cheaply."""

EVENT_TYPES = ("initiative.created", "review.opened", "signoff.decided", "stage.changed", "digest.posted",
               "initiative.held", "initiative.hold_extended", "initiative.recycled", "initiative.killed",
               "initiative.classified", "initiative.at_risk", "initiative.stale_model", "initiative.flag_cleared",
               "condition.created", "condition.met", "condition.overdue", "gate.decided", "waiver.expired",
               "kpi.recorded")
