"""The scheduler's jobs only schedule: each registers itself and calls one function of its domain (its
scheduled.py; retention's prune), handed what is Slack's, or for the reinstall check one adapter; and the nudge
sweep runs every NUDGE_SWEEP_MINUTES."""

from __future__ import annotations

import re

from apscheduler.schedulers.background import BackgroundScheduler

from bot.jobs import scheduler


def test_every_job_calls_one_function_of_its_domain(runtime):
    jobs = BackgroundScheduler(timezone="UTC")
    for module in scheduler.JOB_MODULES:
        module.register(jobs, runtime, client=None)

    called = {job.id: f"{job.func.__module__}.{job.func.__name__}" for job in jobs.get_jobs()}
    assert {job_id for job_id, function in called.items()
            if not re.fullmatch(r"bot\.services\.\w+\.\w+\.\w+", function)} == {"reinstall_check"}, called
    # The one job that is Slack's own business: whether auth.test succeeds again.
    assert called["reinstall_check"] == "bot.adapters.installation.recheck_installation"
    assert called["prune"] == "bot.services.retention.scheduled.daily_prune"
    assert called["integration_checks"] == "bot.services.attestation.scheduled.run_integration_checks"
    assert called["waiver_expiry"] == "bot.services.waivers.scheduled.run_waivers"


def test_the_scheduler_sweeps_every_nudge_sweep_minutes(runtime):
    built = scheduler.build(runtime)
    every_five = scheduler.build(runtime.__class__(settings=runtime.settings.model_copy(
        update={"nudge_sweep_minutes": 5}), engine=runtime.engine))

    assert built.get_job("nudge_sweep").trigger.interval.total_seconds() == 15 * 60
    assert every_five.get_job("nudge_sweep").trigger.interval.total_seconds() == 5 * 60
