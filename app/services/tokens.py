"""Signed, expiring, single-purpose links (itsdangerous), each usable once (recorded in the store)."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.engine import Connection

from app.store import used_tokens


class TokenInvalid(ValueError):
    """A link that was tampered with, made for another purpose, or never issued by us."""


class TokenExpired(TokenInvalid):
    """A genuine link older than its validity."""


class TokenUsed(TokenInvalid):
    """A genuine single-use link that has already been used."""


class Tokens:
    """Issue and check links; the purpose is the itsdangerous salt, so a token of one purpose fails for another."""

    def __init__(self, secret_key: str, max_age_s: int) -> None:
        if not secret_key:
            raise ValueError("a signing key is required")
        self.secret_key = secret_key
        self.max_age_s = max_age_s

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt=f"lba.{purpose}")

    def issue(self, purpose: str, payload: dict[str, Any]) -> str:
        """A URL-safe token carrying `payload` for `purpose`."""
        return self._serializer(purpose).dumps(payload)

    def read(self, purpose: str, token: str, max_age_s: int | None = None) -> dict[str, Any]:
        """The payload of a genuine, unexpired token of `purpose` (does not consume it)."""
        try:
            payload = self._serializer(purpose).loads(token, max_age=max_age_s or self.max_age_s)
        except SignatureExpired:
            raise TokenExpired("lien expiré") from None
        except BadSignature:
            raise TokenInvalid("lien invalide") from None
        if not isinstance(payload, dict):
            raise TokenInvalid("lien invalide")
        return payload

    def consume(self, conn: Connection, purpose: str, token: str, max_age_s: int | None = None) -> dict[str, Any]:
        """Check the token and record it used, inside the caller's transaction; a second use raises TokenUsed.

        Only the token's digest is stored: the table never holds a usable link.
        """
        payload = self.read(purpose, token, max_age_s)
        digest = hashlib.sha256(token.encode()).hexdigest()
        if is_used(conn, token):
            raise TokenUsed("lien déjà utilisé")
        conn.execute(sa.insert(used_tokens).values(token_sha256=digest, purpose=purpose,
                                                   used_at=datetime.now(timezone.utc)))
        return payload


def is_used(conn: Connection, token: str) -> bool:
    """Whether `token` has already been consumed."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    return conn.execute(sa.select(used_tokens.c.token_sha256)
                        .where(used_tokens.c.token_sha256 == digest)).first() is not None
