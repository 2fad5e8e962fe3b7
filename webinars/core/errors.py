"""Domain errors raised by the services and translated by each door.

The HTML views turn them into form messages, the JSON API into
``{"error": ..., "field": ...}`` with :attr:`DomainError.status`, the CLI into
an exit code. A service never returns an error value: it raises one of these.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a message meant for the person who made the request."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict:
        """The JSON body the API answers with."""
        body = {"error": self.message}
        if self.field:
            body["field"] = self.field
        return body


class BadRequest(DomainError):
    """The request cannot be read at all (not JSON, not an object)."""

    status = 400


class Unauthorized(DomainError):
    """No valid credentials."""

    status = 401


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the asker)."""

    status = 404


class Conflict(DomainError):
    """The request is well formed but the current state refuses it."""

    status = 409


class Unavailable(DomainError):
    """Something the request needs (the database) cannot be reached now."""

    status = 503


class ValidationError(DomainError):
    """A field has a wrong value; ``field`` names it."""

    status = 422
