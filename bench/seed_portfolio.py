"""Migrate a database and bulk-insert a portfolio with its histories, using the code under test.

    PYTHONPATH=CHECKOUT CHECKOUT/.venv/bin/python bench/seed_portfolio.py DATABASE_URL SPEC

SPEC is JSON: {"team": ..., "initiatives": 2000, "owned": 200, "owners": {"business": ["U1", ...], ...}}. The
first `owned` active initiatives that have a gate ahead get an owner per role, the i-th one the i-th person of
each role's list (modulo its length). Prints their keys, as JSON.

Run by bench_decisions.py with the interpreter and code of the checkout being measured (`--code`), so the schema
is that checkout's own. The bulk insert (tests/.../bulk.py) and the workspace module moved when the services were
split into domain packages; the imports below take whichever the checkout has. The portfolio's own open reviews
are closed as cancelled: the bench opens the reviews it decides through Slack (`/initiative submit`), so that their
sign-off requests are real posted messages.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from bot.config import load_settings
from bot.runtime import Runtime
from storage.migrate import upgrade
from storage.models import GateReview, Initiative, OwnerAssignment, SignOff

try:  # the layout with one package per domain
    from bot.services.gates.workspaces import ensure_workspace
    from tests.services.digest.bulk import insert_portfolio
except ImportError:  # the flat bot/services of 3f10819 and before
    from bot.services.workspaces import ensure_workspace  # type: ignore[no-redef]
    from tests.digest.bulk import insert_portfolio  # type: ignore[no-redef]


def main(database_url: str, spec: dict[str, Any]) -> list[str]:
    runtime = Runtime.from_settings(load_settings(_env_file=None, database_url=database_url))
    upgrade(runtime.engine)
    now = datetime.now(UTC)
    team_id = spec["team"]
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=team_id, name="Bench Corp")
        insert_portfolio(session, team_id=team_id, count=spec["initiatives"], as_of=now)
        session.execute(update(SignOff).where(SignOff.state == "pending").values(state="cancelled", decided_at=now))
        session.execute(update(GateReview).where(GateReview.state == "open")
                        .values(state="cancelled", closed_at=now, close_reason="closed by the bench seed"))
        owned = session.execute(
            select(Initiative.id, Initiative.number)
            .where(Initiative.team_id == team_id, Initiative.status == "active", Initiative.stage != "scaled")
            .order_by(Initiative.number).limit(spec["owned"])
        ).all()
        session.execute(insert(OwnerAssignment), [
            {"team_id": team_id, "initiative_id": initiative_id, "role": role, "user_id": people[index % len(people)],
             "assigned_by": "UBULK", "assigned_at": now}
            for index, (initiative_id, _) in enumerate(owned) for role, people in spec["owners"].items()
        ])
    # The planner's statistics, as autovacuum would have them on a database in use (see bench_slack.seed).
    with runtime.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE" if runtime.engine.dialect.name == "postgresql" else "ANALYZE"
        )
    runtime.engine.dispose()
    return [f"AI-{number}" for _, number in owned]


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]))))
