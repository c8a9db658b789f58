"""Every migration can be undone and redone, on both backends (SQLite exercises Alembic's batch mode)."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_migrations_import_no_application_code(tmp_path):
    """A migration freezes what it needs: upgrading a database (in a fresh interpreter) loads nothing from bot/."""
    script = ("import sys; from storage.db import make_engine; from storage.migrate import upgrade; "
              f"upgrade(make_engine('sqlite:///{tmp_path / 'fresh.db'}')); "
              "print(sorted(name for name in sys.modules if name == 'bot' or name.startswith('bot.')))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
