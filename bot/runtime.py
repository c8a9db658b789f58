"""The running bot's shared parts: settings, the database engine, and what reacts to domain events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.services.events import DomainEvent, take_events
from storage.db import make_engine, session_scope

EventHandler = Callable[[Session, DomainEvent], None]


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    event_handlers: list[EventHandler] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings, *, database_url: str | None = None) -> Runtime:
        return cls(settings=settings, engine=make_engine(database_url or settings.database_url))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work. Domain events are handled inside it, so their effects commit with their cause."""
        with session_scope(self.engine) as session:
            yield session
            while events := take_events(session):
                for event in events:
                    for handler in self.event_handlers:
                        handler(session, event)
            session.flush()
