"""Small builders for domain tests."""

from __future__ import annotations

from bot.services.access.actors import Actor

TEAM = "T0TEST"


def actor(user_id: str, *, admin: bool = False, team_id: str = TEAM) -> Actor:
    return Actor(team_id=team_id, user_id=user_id, is_admin=admin)


def kpi_texts(runtime, initiative) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The initiative's first KPI as the form and the portfolio file give it: kpi_name, kpi_baseline, kpi_target."""
    from bot.services.kpis.definitions import first_kpi_texts, kpis_of

    with runtime.read() as session:
        return first_kpi_texts(next(iter(kpis_of(session, initiative_id=initiative.id)), None))
