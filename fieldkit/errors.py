"""Errors the domain raises. Messages are Vietnamese: they reach the person as they are."""

from __future__ import annotations


class DomainError(Exception):
    """Base for refusals a caller turns into a clear answer; never a 500."""


class Invalid(DomainError):
    """Input refused. `errors` maps a field name to a message shown beside that field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    """The object exists but lies outside the member's scope or role."""


class SyncConflict(DomainError):
    """The same UUID was sent before with different content."""


class SignInRefused(DomainError):
    """A sign-in link that is unknown, expired or already used. The message says which."""
