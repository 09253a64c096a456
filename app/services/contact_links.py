"""Signed links of the contact flows: tamper-proof, expiring, bound to one purpose and one record."""
from __future__ import annotations

from datetime import datetime, timedelta

from app.services.signing import Signer, TokenInvalid

_INVALID = "Ce lien n'est pas valide : copiez l'adresse complète reçue par e-mail."


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
        self._signer = Signer(secret, "lba-contact:")

    def sign(self, purpose: str, record_id: str, now: datetime) -> str:
        """A token for `record_id` usable only for `purpose`, stamped with `now`."""
        return self._signer.sign(purpose, record_id, now)

    def verify(self, purpose: str, token: str, record_id: str, max_age: timedelta, now: datetime) -> None:
        """Raise LinkError unless `token` was signed for (`purpose`, `record_id`) less than `max_age` before `now`."""
        try:
            signed_for, signed_at = self._signer.unsign(purpose, token)
        except TokenInvalid:
            raise LinkError(_INVALID) from None
        if signed_for != record_id:
            raise LinkError(_INVALID)
        # Age checked against the caller's clock (not the machine's) so tests and jobs share one time.
        if now - signed_at > max_age:
            raise LinkExpired("Ce lien a expiré : il était valable "
                              f"{max_age.days} jour{'s' if max_age.days > 1 else ''}.")
