"""Every migration can be undone and redone, on both backends (SQLite exercises Alembic's batch mode)."""

from __future__ import annotations

from alembic import command

from storage.migrate import alembic_config, current_revision, head_revision, upgrade


def test_downgrade_to_empty_and_upgrade_again(engine):
    config = alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        connection.commit()
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
