"""The errors of the recruiter account service, each with the French sentence to show and its form field."""
from __future__ import annotations


class AccountError(Exception):
    """A refused request, with the French sentence to show and the form field it belongs to."""

    def __init__(self, message: str, field: str = "", code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class LinkError(AccountError):
    """A magic link that cannot sign anyone in (tampered, expired, used)."""


class NotAllowed(AccountError):
    """The signed-in account may not do this (not a validator, or not for this OPCO)."""

