"""Signed, expiring, single-purpose links (itsdangerous), each usable once (recorded in the store)."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.config import Settings
from app.services.signing import Signer, TokenExpired as TokenExpired, TokenInvalid as TokenInvalid
from app.store import used_tokens


class TokenUsed(TokenInvalid):
    """A genuine single-use link that has already been used."""


class Tokens:
    """Issue and check links; the purpose is the itsdangerous salt, so a token of one purpose fails for another."""

    def __init__(self, secret_key: str, max_age_s: int) -> None:
        self._signer = Signer(secret_key, "lba.")
        self.max_age_s = max_age_s

    @classmethod
    def from_settings(cls, settings: Settings) -> Tokens:
        """The tokens of the e-mailed links, valid for the configured number of days."""
        return cls(settings.secret_key, settings.link_max_age_days * 86400)

    def issue(self, purpose: str, payload: dict[str, Any]) -> str:
        """A URL-safe token carrying `payload` for `purpose`, stamped by the machine's clock."""
        return self._signer.sign(purpose, payload)

    def read(self, purpose: str, token: str, max_age_s: int | None = None) -> dict[str, Any]:
        """The payload of a genuine, unexpired token of `purpose` (does not consume it)."""
        payload, _ = self._signer.unsign(purpose, token, max_age_s or self.max_age_s)
        if not isinstance(payload, dict):
            raise TokenInvalid("lien invalide")
        return payload

    def consume(self, conn: Connection, purpose: str, token: str, max_age_s: int | None = None) -> dict[str, Any]:
        """Check the token and record it used, inside the caller's transaction; a second use raises TokenUsed.

        Only the token's digest is stored: the table never holds a usable link.
        """
        payload = self.read(purpose, token, max_age_s)
        if is_used(conn, token):
            raise TokenUsed("lien déjà utilisé")
        conn.execute(sa.insert(used_tokens).values(token_sha256=_digest(token), purpose=purpose,
                                                   used_at=datetime.now(timezone.utc)))
        return payload


def is_used(conn: Connection, token: str) -> bool:
    """Whether `token` has already been consumed."""
    return conn.execute(sa.select(used_tokens.c.token_sha256)
                        .where(used_tokens.c.token_sha256 == _digest(token))).first() is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
