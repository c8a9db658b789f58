"""`initiative-bot nudge` (dry run and --send); the scheduler's nudge job is tested in tests/jobs/."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cli import main
from tests.services.nudges.support import open_review, outbox_dms

ASKED = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)  # Monday


def test_dry_run_says_who_would_be_nudged_and_why_and_sends_nothing(runtime, capsys):
    open_review(runtime, asked=ASKED)

    assert main(["nudge", "--as-of", "2026-11-11T07:30:00-05:00"]) == 0  # 12:30 UTC, Wednesday

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Nudges as of Wed 2026-11-11 12:30 UTC (dry run: nothing is sent; add --send to send)"
    assert out[1].startswith("Time zones: SLACK_BOT_TOKEN is not set here, so only zones already stored are known")
    assert ("  nudge → UBIZ (their time: Wed 2026-11-11 12:30 UTC; their zone is unknown, so DEFAULT_TIMEZONE "
            "applies, as in a sweep): 1 pending sign-off(s), 1 due for a reminder") in out
    assert ("    AI-1 Pilot approval · Business owner (UBIZ): pending 2 business day(s), "
            "SLA Mon 2026-11-16 17:00 UTC · reminder due") in out
    assert outbox_dms(runtime) == {}


def test_send_runs_the_sweep_and_a_second_run_the_same_day_sends_nothing(runtime, capsys):
    open_review(runtime, asked=ASKED)

    main(["nudge", "--send", "--as-of", "2026-11-11T12:30:00+00:00"])
    first = capsys.readouterr().out
    main(["nudge", "--send", "--as-of", "2026-11-11T16:30:00+00:00"])
    second = capsys.readouterr().out

    assert "3 DM(s) written to the outbox." in first
    assert "0 DM(s) written to the outbox." in second
    assert sorted(outbox_dms(runtime)) == ["UBIZ", "UDATA", "UENG"]


def test_as_of_must_be_an_iso_time(runtime, capsys):
    try:
        main(["nudge", "--as-of", "tomorrow"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "'tomorrow' is not an ISO-8601 time; write e.g. 2026-12-01T09:30:00+01:00" in capsys.readouterr().err

