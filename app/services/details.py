"""One formation, offer or company by id, with the rules of expiry for offers."""
from __future__ import annotations

from datetime import date
from typing import Any

from app.search.contract import SearchEngine
from app.services.items import public_item
from ranking.score import parse_day


class NotFound(LookupError):
    """No published document has that id."""


class Gone(LookupError):
    """The offer existed but is expired, filled or cancelled."""

    def __init__(self, item: dict[str, Any]) -> None:
        super().__init__(item["id"])
        self.item = item


def get_item(engine: SearchEngine, kind: str, doc_id: str, today: date) -> dict[str, Any]:
    """The public item of document `doc_id` of `kind`; raises NotFound or Gone (offers only)."""
    doc = engine.get_many(kind, [doc_id]).get(doc_id)
    if doc is None:
        raise NotFound(doc_id)
    item = public_item(doc, None)
    if kind == "offer":
        expires = parse_day(doc.get("expires_at"))  # the Paris day, as the engines' expiry filter reads it
        expired = expires is not None and expires < today
        if expired or doc.get("status", "active") != "active":
            raise Gone(item)
    return item
