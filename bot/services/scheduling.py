"""What a scheduled service function needs from the process that runs it (`bot.runtime.Runtime` has it).

A job spans several transactions (claim, call out, record), so it takes the runtime rather than one session; this
protocol keeps the domains from importing `bot.runtime`, which sits above them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sqlmodel import Session

from bot.config import Settings


class JobRuntime(Protocol):
    settings: Settings

    def transaction(self) -> AbstractContextManager[Session]:
        """One unit of work whose domain events are handled before it commits."""
        ...

    def read(self) -> AbstractContextManager[Session]:
        """A transaction that only reads: no write lock, and writing in it fails."""
        ...
