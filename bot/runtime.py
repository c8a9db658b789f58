"""The running bot's shared parts: settings, the database engine, and what reacts to domain events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.services.access.service import WorkspaceRoles
from bot.services.events import DomainEvent, take_events
from storage.db import make_engine, session_scope

if TYPE_CHECKING:  # the sender imports slack_sdk, which a runtime does not need
    from bot.delivery.sender import Renderer

EventHandler = Callable[[Session, DomainEvent], None]


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    event_handlers: list[EventHandler] = field(default_factory=list)
    # How the outbox sender renders intents, by kind (bot.delivery.sender); registered by bot.wiring.
    renderers: dict[str, Renderer] = field(default_factory=dict)
    # Seconds a statement may wait for a lock, and the transaction may take before it commits, before it fails
    # (None: as long as the database lets it). Set where someone waits for the outcome within a deadline
    # (`bot.app.create_app`); see `storage.db.session_scope`.
    lock_wait: float | None = None
    workspace_roles: WorkspaceRoles = field(default_factory=WorkspaceRoles)

    @classmethod
    def from_settings(cls, settings: Settings, *, database_url: str | None = None) -> Runtime:
        return cls(settings=settings, engine=make_engine(database_url or settings.database_url))

    def with_lock_wait(self, seconds: float | None) -> Runtime:
        """The same runtime (engine, handlers), its transactions waiting at most `seconds` for a lock."""
        return replace(self, lock_wait=seconds)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work. Domain events are handled inside it, so their effects commit with their cause."""
        with session_scope(self.engine, lock_wait=self.lock_wait) as session:
            yield session
            while events := take_events(session):
                for event in events:
                    for handler in self.event_handlers:
                        handler(session, event)
            session.flush()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction that only reads: it takes no write lock (SQLite) and may not write (PostgreSQL), so
        requests that only show something never queue behind, or hold up, the ones that change something."""
        with session_scope(self.engine, lock_wait=self.lock_wait, read_only=True) as session:
            yield session
