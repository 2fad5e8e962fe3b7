"""Domain errors raised by the services and translated by each door.

The HTML views turn them into form messages, the JSON API into
``{"error": ..., "field": ...}`` with :attr:`DomainError.status`, the CLI into
an exit code. A service never returns an error value: it raises one of these.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a message meant for the person who made the request.

    Each kind names its HTTP status in its class line
    (``class NotFound(DomainError, status=404)``); the API answers with it.
    """

    status = 400

    def __init_subclass__(cls, *, status: int, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.status = status

    def __init__(self, message: str, field: str | None = None):
        # A lazy_gettext constant becomes plain text in the language of the
        # request that raised it: flash(), the session and JSON take only str.
        message = str(message)
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict:
        """The JSON body the API answers with."""
        body = {"error": str(self.message)}
        if self.field:
            body["field"] = self.field
        return body


class BadRequest(DomainError, status=400):
    """The request cannot be read at all (not JSON, not an object)."""


class Unauthorized(DomainError, status=401):
    """No valid credentials."""


class Forbidden(DomainError, status=403):
    """The asker may not do this (an address the event did not invite)."""


class NotFound(DomainError, status=404):
    """The thing asked for does not exist (or is not visible to the asker)."""


class Conflict(DomainError, status=409):
    """The request is well formed but the current state refuses it."""


class ValidationError(DomainError, status=422):
    """A field has a wrong value; ``field`` names it."""


class Unavailable(DomainError, status=503):
    """Something the request needs (the database) cannot be reached now."""
