"""Typed errors raised by services; the web UI, API and CLI each translate them in one place."""
from __future__ import annotations


class ServiceError(Exception):
    """Base class: `message` is safe to show to the user who caused it."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class NotFound(ServiceError):
    """The object does not exist or the actor may not see it (the two are indistinguishable)."""


class Forbidden(ServiceError):
    """The actor can see the object but may not perform this operation on it."""


class Invalid(ServiceError):
    """Input rejected; `field` names the form field it belongs to (None for the whole form)."""

    def __init__(self, field: str | None, message: object) -> None:
        super().__init__(message)
        self.field = field


class LimitExceeded(Invalid):
    """A plan, allowance or capacity limit would be exceeded; `limit` names which."""

    def __init__(self, limit: str, message: object, field: str | None = None) -> None:
        super().__init__(field, message)
        self.limit = limit
