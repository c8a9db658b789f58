"""Typed domain errors. Each message is one short sentence a user can act on; listeners show it as is."""


class DomainError(Exception):
    """Base class: `str(error)` is safe and useful to show to the person who asked."""


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class Conflict(DomainError):
    """The request clashes with the current state (a review already open, a stale edit, ...)."""
