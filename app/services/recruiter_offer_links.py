"""The signed one-click links of offer e-mails (extend, filled, cancel): issued, then read back and checked."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.clock import Clock
from app.config import Settings
from app.errors import ApiError
from app.services.deposited_offers import utc
from app.services.tokens import TokenExpired, TokenInvalid, Tokens

LINK_PURPOSE = "offer.action"
LINK_ACTIONS = ("extend", "filled", "cancel")


@dataclass(frozen=True)
class Link:
    """A one-click action link of an e-mail."""

    action: str
    url: str


def offer_link(tokens: Tokens, settings: Settings, clock: Clock, row: Mapping[Any, Any], action: str) -> Link:
    """A single-use signed link to `action` the offer, valid until the offer's expiry + link days."""
    until = (utc(row["expires_at"]) or clock.now()) + timedelta(days=settings.link_max_age_days)
    token = tokens.issue(LINK_PURPOSE, {"offer": row["id"], "action": action,
                                        "until": until.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return Link(action, f"{settings.public_base_url}/espace-pro/offres/action?token={token}")


def read_offer_link(tokens: Tokens, clock: Clock, token: str) -> dict[str, Any]:
    """The payload of a link still valid (signature, action, offer id, date), or the ApiError to answer."""
    try:
        payload = tokens.read(LINK_PURPOSE, token)
    except TokenExpired:
        raise ApiError(410, "link_expired", "Ce lien a expiré : gérez l'offre depuis votre tableau de bord.") \
            from None
    except TokenInvalid:
        raise ApiError(400, "link_invalid", "Ce lien est invalide.") from None
    if payload.get("action") not in LINK_ACTIONS or not isinstance(payload.get("offer"), int):
        raise ApiError(400, "link_invalid", "Ce lien est invalide.")
    until = datetime.fromisoformat(str(payload.get("until", "")).replace("Z", "+00:00"))
    if until <= clock.now():
        raise ApiError(410, "link_expired", "Ce lien a expiré : gérez l'offre depuis votre tableau de bord.")
    return payload
