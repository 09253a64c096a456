"""Signed links of the contact flows: tamper-proof, expiring, bound to one purpose and one record."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer


class _ClockSigner(TimestampSigner):
    """A timestamp signer stamping the caller's time, so links signed under a test clock age with it."""

    def __init__(self, *args, now: float, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now)


class LinkError(Exception):
    """A link that cannot be used, with the French sentence shown to the person who followed it."""

    code = "invalid_link"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LinkExpired(LinkError):
    code = "link_expired"


class LinkSigner:
    """Signs (purpose, record id) pairs; the purpose is the salt, so a link of one kind never opens another."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a signing secret is required")
        self._secret = secret

    def _serializer(self, purpose: str, now: datetime | None = None) -> URLSafeTimedSerializer:
        kwargs: dict[str, Any] = {}
        if now is not None:
            kwargs = {"signer": _ClockSigner, "signer_kwargs": {"now": now.timestamp()}}
        return URLSafeTimedSerializer(self._secret, salt=f"lba-contact:{purpose}", **kwargs)

    def sign(self, purpose: str, record_id: str, now: datetime) -> str:
        """A token for `record_id` usable only for `purpose`, stamped with `now`."""
        return self._serializer(purpose, now).dumps(record_id)

    def verify(self, purpose: str, token: str, record_id: str, max_age: timedelta, now: datetime) -> None:
        """Raise LinkError unless `token` was signed for (`purpose`, `record_id`) less than `max_age` before `now`."""
        serializer = self._serializer(purpose)
        try:
            signed_for, signed_at = serializer.loads(token, return_timestamp=True)
        except SignatureExpired:  # pragma: no cover - no max_age is passed to loads, see below
            raise LinkExpired("Ce lien a expiré.") from None
        except BadSignature:
            raise LinkError("Ce lien n'est pas valide : copiez l'adresse complète reçue par e-mail.") from None
        if signed_for != record_id:
            raise LinkError("Ce lien n'est pas valide : copiez l'adresse complète reçue par e-mail.")
        # Age checked against the caller's clock (not the machine's) so tests and jobs share one time.
        if now - signed_at > max_age:
            raise LinkExpired("Ce lien a expiré : il était valable "
                              f"{max_age.days} jour{'s' if max_age.days > 1 else ''}.")
