"""Typed domain errors. Each message is one short sentence a user can act on; listeners show it as is."""


class DomainError(Exception):
    """Base class: `str(error)` is safe and useful to show to the person who asked."""


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class InvalidInput(DomainError):
    """Bad input. `field`, when the rule knows it, names what was wrong: the service argument that held it (for a
    mapping argument, `argument.key`, like `owners.business`), so that a modal shows the message under the input
    that collected it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(DomainError):
    """The request clashes with the current state (a review already open, a stale edit, ...)."""
