"""URL-safe signed, timestamped tokens (itsdangerous): the one signing rule behind every link the service e-mails."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer


class TokenInvalid(ValueError):
    """A link that was tampered with, made for another purpose, or never issued by us."""


class TokenExpired(TokenInvalid):
    """A genuine link older than its validity."""


class _ClockSigner(TimestampSigner):
    """A timestamp signer stamping the caller's time, so links signed under a test clock age with it."""

    def __init__(self, *args, now: float, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now)


class Signer:
    """Signs values for one purpose at a time; the purpose ends the salt, so a token of one kind never opens another."""

    def __init__(self, secret: str, salt_prefix: str) -> None:
        if not secret:
            raise ValueError("a signing secret is required")
        self._secret = secret
        self._salt_prefix = salt_prefix

    def _serializer(self, purpose: str, now: datetime | None = None) -> URLSafeTimedSerializer:
        kwargs: dict[str, Any] = {}
        if now is not None:
            kwargs = {"signer": _ClockSigner, "signer_kwargs": {"now": now.timestamp()}}
        return URLSafeTimedSerializer(self._secret, salt=f"{self._salt_prefix}{purpose}", **kwargs)

    def sign(self, purpose: str, value: Any, now: datetime | None = None) -> str:
        """A token carrying `value` for `purpose`, stamped with `now` (the machine's clock when None)."""
        return self._serializer(purpose, now).dumps(value)

    def unsign(self, purpose: str, token: str, max_age_s: int | None = None) -> tuple[Any, datetime]:
        """The value of a genuine token of `purpose` and when it was signed (TokenInvalid otherwise).

        With `max_age_s`, a token older than that by the machine's clock raises TokenExpired; callers living on
        another clock pass none and compare the signing time with their own.
        """
        try:
            value, signed_at = self._serializer(purpose).loads(token, max_age=max_age_s, return_timestamp=True)
        except SignatureExpired:
            raise TokenExpired("lien expiré") from None
        except BadSignature:
            raise TokenInvalid("lien invalide") from None
        return value, signed_at
