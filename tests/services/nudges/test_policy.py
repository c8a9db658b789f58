"""The nudge policy over simulated weeks, with real zoneinfo zones: when each person would be reminded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.services.business_days import business_days_between, sla_deadline
from bot.services.nudges.policy import ESCALATION, NUDGE, OUTSIDE_HOURS, SENT_TODAY, SNOOZED, History, World, plan
from tests.services.nudges.policy_support import local, pending, sends_to, simulate

UTC_ZONE = ZoneInfo("UTC")


def world(*items, zones=None, **kwargs) -> World:
    parsed = {user: ZoneInfo(name) for user, name in (zones or {}).items()}
    return World(pending=list(items), default_zone=UTC_ZONE, zones=parsed, **kwargs)


def test_friday_request_is_first_nudged_on_tuesday_then_every_two_business_days():
    asked = local(2026, 11, 13, 10, 0, "America/New_York")  # a Friday
    w = world(pending(1, "UOWNER", asked), zones={"UOWNER": "America/New_York"})

    sent = simulate(w, asked, local(2026, 11, 24, 23, 0, "America/New_York"))

    # Monday is business day 1, Tuesday day 2; Thursday is 2 more, then Friday + Monday.
    assert sends_to(sent, "UOWNER", "America/New_York") == [
        "Tue 2026-11-17 09:00", "Thu 2026-11-19 09:00", "Mon 2026-11-23 09:00",
    ]


def test_either_side_of_the_date_line_each_person_counts_their_own_days():
    asked = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # Tue 10:00 in Kiritimati, Mon 09:00 in Pago Pago
    w = world(pending(1, "UKIRI", asked), pending(2, "UPAGO", asked),
              zones={"UKIRI": "Pacific/Kiritimati", "UPAGO": "Pacific/Pago_Pago"})

    sent = simulate(w, asked, datetime(2026, 12, 8, 12, 0, tzinfo=UTC))

    assert sends_to(sent, "UKIRI", "Pacific/Kiritimati") == ["Thu 2026-12-03 09:00", "Mon 2026-12-07 09:00"]
    assert sends_to(sent, "UPAGO", "Pacific/Pago_Pago") == ["Wed 2026-12-02 09:00", "Fri 2026-12-04 09:00"]
    # Friday 20:00 UTC is Friday morning in Pago Pago and Saturday in Kiritimati: only one of them is at work.
    friday = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    assert [n.recipient for n in plan(w, friday).notices] == ["UPAGO"]


def test_new_york_spring_forward_keeps_nine_local_and_moves_the_sla_in_utc():
    asked = local(2026, 3, 5, 10, 0, "America/New_York")  # Thursday; clocks go forward on Sunday 8 March
    w = world(pending(1, "UNY", asked), zones={"UNY": "America/New_York", "USPONSOR": "America/New_York"})

    sent = simulate(w, asked, local(2026, 3, 13, 23, 0, "America/New_York"))

    assert sends_to(sent, "UNY", "America/New_York") == ["Mon 2026-03-09 09:00", "Wed 2026-03-11 09:00",
                                                         "Fri 2026-03-13 09:00"]
    first = next(at for at, n in sent if n.recipient == "UNY")
    assert first == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # 09:00 EDT, not 08:00 or 10:00
    deadline = sla_deadline(asked, ZoneInfo("America/New_York"), 5)
    assert deadline == datetime(2026, 3, 12, 21, 0, tzinfo=UTC)  # Thursday 17:00 EDT
    assert sends_to(sent, "USPONSOR", "America/New_York", ESCALATION) == ["Fri 2026-03-13 09:00"]


def test_london_autumn_change_neither_shifts_nor_duplicates_a_nudge():
    asked = local(2026, 10, 22, 10, 0, "Europe/London")  # Thursday; clocks go back on Sunday 25 October
    w = world(pending(1, "ULON", asked), zones={"ULON": "Europe/London"})

    sent = simulate(w, asked, local(2026, 10, 29, 23, 30, "Europe/London"))

    assert sends_to(sent, "ULON", "Europe/London") == ["Mon 2026-10-26 09:00", "Wed 2026-10-28 09:00"]
    assert sla_deadline(asked, ZoneInfo("Europe/London"), 5) == datetime(2026, 10, 29, 17, 0, tzinfo=UTC)


def test_new_york_fall_back_weekend_sends_one_nudge_a_day():
    asked = local(2026, 10, 28, 12, 0, "America/New_York")  # Wednesday; clocks go back on Sunday 1 November
    w = world(pending(1, "UNY", asked, every=1), zones={"UNY": "America/New_York"})

    sent = simulate(w, asked, local(2026, 11, 3, 23, 0, "America/New_York"))

    assert sends_to(sent, "UNY", "America/New_York") == ["Fri 2026-10-30 09:00", "Mon 2026-11-02 09:00",
                                                         "Tue 2026-11-03 09:00"]


def test_lord_howe_half_hour_shift_keeps_nine_local():
    asked = local(2026, 10, 1, 10, 0, "Australia/Lord_Howe")  # Thursday; +10:30 -> +11 on Sunday 4 October
    w = world(pending(1, "ULH", asked), zones={"ULH": "Australia/Lord_Howe"})

    sent = simulate(w, asked, local(2026, 10, 7, 23, 0, "Australia/Lord_Howe"))

    assert sends_to(sent, "ULH", "Australia/Lord_Howe") == ["Mon 2026-10-05 09:00", "Wed 2026-10-07 09:00"]
    assert sent[0][0] == datetime(2026, 10, 4, 22, 0, tzinfo=UTC)
    assert sla_deadline(asked, ZoneInfo("Australia/Lord_Howe"), 5) == datetime(2026, 10, 8, 6, 0, tzinfo=UTC)


def test_holidays_are_not_business_days():
    asked = local(2026, 12, 23, 10, 0, "Europe/London")  # Wednesday before Christmas
    holidays = frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)})
    w = world(pending(1, "ULON", asked), zones={"ULON": "Europe/London"}, holidays=holidays)

    sent = simulate(w, asked, local(2027, 1, 5, 23, 0, "Europe/London"))

    assert sends_to(sent, "ULON", "Europe/London") == ["Wed 2026-12-30 09:00", "Mon 2027-01-04 09:00"]
    assert business_days_between(date(2026, 12, 23), date(2027, 1, 5), holidays) == 5
    assert sla_deadline(asked, ZoneInfo("Europe/London"), 5, holidays) == datetime(2027, 1, 5, 17, 0, tzinfo=UTC)


def _snooze_at(moment: datetime, user: str, until: datetime):  # type: ignore[no-untyped-def]
    def step(w: World, now: datetime) -> World:
        if now == moment:
            return replace(w, snoozes={**w.snoozes, user: until})
        return w
    return step


def test_snooze_until_monday_skips_thursday_and_reminds_on_monday():
    asked = local(2026, 11, 13, 10, 0, "America/New_York")
    w = world(pending(1, "UOWNER", asked), zones={"UOWNER": "America/New_York"})
    clicked = local(2026, 11, 17, 10, 0, "America/New_York").astimezone(UTC)
    monday = local(2026, 11, 23, 9, 0, "America/New_York")

    sent = simulate(w, asked, local(2026, 11, 23, 23, 0, "America/New_York"),
                    on_step=_snooze_at(clicked, "UOWNER", monday))

    assert sends_to(sent, "UOWNER", "America/New_York") == ["Tue 2026-11-17 09:00", "Mon 2026-11-23 09:00"]
    thursday = local(2026, 11, 19, 10, 0, "America/New_York")
    snoozed = replace(w, snoozes={"UOWNER": monday})
    assert [(h.why, h.at) for h in plan(snoozed, thursday).held] == [(SNOOZED, monday)]


def test_snooze_one_day_reminds_the_next_working_morning():
    asked = local(2026, 11, 13, 10, 0, "America/New_York")
    w = world(pending(1, "UOWNER", asked), zones={"UOWNER": "America/New_York"})
    clicked = local(2026, 11, 17, 10, 0, "America/New_York").astimezone(UTC)

    sent = simulate(w, asked, local(2026, 11, 20, 23, 0, "America/New_York"),
                    on_step=_snooze_at(clicked, "UOWNER", local(2026, 11, 18, 9, 0, "America/New_York")))

    assert sends_to(sent, "UOWNER", "America/New_York") == ["Tue 2026-11-17 09:00", "Wed 2026-11-18 09:00",
                                                            "Fri 2026-11-20 09:00"]


def test_a_delegate_gets_the_owners_nudges_and_the_owner_none():
    asked = local(2026, 11, 13, 10, 0, "America/New_York")
    w = world(pending(1, "UOWNER", asked), pending(2, "UDELEGATE", asked + timedelta(hours=1), key="AI-2"),
              zones={"UOWNER": "America/New_York", "UDELEGATE": "Europe/London"},
              delegations={"UOWNER": "UDELEGATE"})

    sent = simulate(w, asked, local(2026, 11, 17, 23, 0, "America/New_York"))

    assert sends_to(sent, "UOWNER", "America/New_York") == []
    assert sends_to(sent, "UDELEGATE", "Europe/London") == ["Tue 2026-11-17 09:00"]
    notice = sent[0][1]
    assert [(i.pending.sign_off_id, i.on_behalf_of) for i in notice.items] == [(1, "UOWNER"), (2, None)]


def test_one_consolidated_nudge_lists_everything_oldest_first():
    base = local(2026, 11, 9, 10, 0, "Europe/London")  # Monday
    w = world(pending(3, "UP", base + timedelta(days=2), key="AI-3"), pending(1, "UP", base, key="AI-1"),
              pending(2, "UP", base + timedelta(days=1), key="AI-2"), zones={"UP": "Europe/London"})

    sent = simulate(w, base, local(2026, 11, 11, 23, 0, "Europe/London"))

    assert len(sent) == 1  # Wednesday: AI-1 is due; AI-2 and AI-3 come along in the same message
    notice = sent[0][1]
    assert [i.pending.initiative_key for i in notice.items] == ["AI-1", "AI-2", "AI-3"]
    assert [i.due for i in notice.items] == [True, False, False]
    assert notice.reminded_ids == [1]  # AI-2 and AI-3 are too young for their own cadence to restart


def test_after_the_sla_sponsor_and_admins_get_one_escalation_per_working_day():
    asked = local(2026, 11, 13, 10, 0, "America/New_York")
    w = world(pending(1, "UOWNER", asked, every=1), admins=("UADMIN", "UOWNER"),
              zones={"UOWNER": "America/New_York", "USPONSOR": "America/New_York", "UADMIN": "Pacific/Kiritimati"})

    sent = simulate(w, asked, local(2026, 11, 24, 23, 0, "America/New_York"))

    # The SLA ends Friday 20 November 17:00 in New York, which is already Saturday in Kiritimati.
    assert sends_to(sent, "USPONSOR", "America/New_York", ESCALATION) == ["Mon 2026-11-23 09:00",
                                                                         "Tue 2026-11-24 09:00"]
    assert sends_to(sent, "UADMIN", "Pacific/Kiritimati", ESCALATION) == ["Mon 2026-11-23 09:00",
                                                                         "Tue 2026-11-24 09:00",
                                                                         "Wed 2026-11-25 09:00"]
    assert sends_to(sent, "UOWNER", "America/New_York", ESCALATION) == []  # never escalated to themselves
    assert all(n.items[0].overdue for _, n in sent if n.kind == ESCALATION)


def test_a_decided_sign_off_is_no_longer_listed():
    asked = local(2026, 11, 13, 10, 0, "America/New_York")
    tuesday = local(2026, 11, 17, 9, 30, "America/New_York")
    w = world(pending(1, "UOWNER", asked), pending(2, "UOWNER", asked, key="AI-2"),
              zones={"UOWNER": "America/New_York"})
    assert [n.sign_off_ids for n in plan(w, tuesday).notices] == [[1, 2]]

    decided = replace(w, pending=[p for p in w.pending if p.sign_off_id != 1])

    assert [n.sign_off_ids for n in plan(decided, tuesday).notices] == [[2]]
    nothing_left = replace(w, pending=[])
    assert plan(nothing_left, tuesday).notices == []


def test_dry_run_explains_why_someone_due_is_held_back():
    asked = local(2026, 11, 13, 10, 0, "America/New_York")
    w = world(pending(1, "UOWNER", asked), zones={"UOWNER": "America/New_York"})
    early = local(2026, 11, 17, 7, 0, "America/New_York")

    result = plan(w, early)

    assert result.notices == []
    assert [(h.kind, h.recipient, h.why, h.at, h.zone.key) for h in result.held] == [
        (NUDGE, "UOWNER", OUTSIDE_HOURS, early, "America/New_York")
    ]
    sent_today = replace(w, history=History(last_sent={("UOWNER", NUDGE): (date(2026, 11, 17), early)}))
    assert plan(sent_today, early + timedelta(hours=3)).held[0].why == SENT_TODAY
