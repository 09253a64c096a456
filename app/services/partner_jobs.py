"""Partner offers of the v3 write API: upserted by partner_job_id, read back by their partner, counted, indexed.

The body's schema checks live in app/services/partner_job_schema.py, its mapping to the row's columns
(and the row's v3 read shape) in app/services/partner_job_mapping.py.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from app.referentials import Referentials
from app.search.contract import SearchEngine
from app.services.deposited_offers import doc_id, index_deposited_offer
from app.services.partner_job_mapping import Mapper, PartnerJobError
from app.store import api_keys, deposited_offers

ID_RE = re.compile(r"^(?:deposited-)?([0-9]{1,18})\Z")
MAX_JOB_ID = 200  # the column's size: a longer id is refused, never cut (two ids would become one)


class JobNotFound(LookupError):
    """No offer with that id belongs to the calling partner."""


def _upsert(conn: sa.Connection, values: dict[str, Any]) -> int:
    """INSERT … ON CONFLICT (partner_id, partner_job_id) DO UPDATE: one statement, racing writers never duplicate."""
    dialect = conn.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(deposited_offers).values(**values)
    changed = {k: v for k, v in values.items() if k not in ("created_at", "partner_id", "partner_job_id")}
    statement = insert.on_conflict_do_update(
        index_elements=[deposited_offers.c.partner_id, deposited_offers.c.partner_job_id], set_=changed,
    ).returning(deposited_offers.c.id)
    return int(conn.execute(statement).scalar_one())


class PartnerJobs:
    """Create, replace, read and count a partner's offers; every write reaches the search engine at once."""

    def __init__(self, store: Engine, engine: SearchEngine, refs: Referentials,
                 resolver: Callable[..., Any] | None = None) -> None:
        self.store = store
        self.engine = engine
        self.mapper = Mapper(refs, resolver)
        self.refs = refs

    def _index(self, offer_id: int) -> None:
        with self.store.connect() as conn:
            row = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id == offer_id)).mappings().one()
        index_deposited_offer(self.engine, dict(row), self.refs)

    def create(self, partner_id: int, body: dict[str, Any], now: datetime) -> str:
        """Upsert the offer of `body` by its partner_job_id; returns its id (the same on every repeat)."""
        values = self.mapper.columns(body, now)
        # identifier is optional in their schema: without it each POST is a new offer (no key to upsert on).
        raw_id = (body.get("identifier") or {}).get("partner_job_id")
        job_id = None if raw_id is None else str(raw_id)
        if job_id is not None and (not job_id.strip() or len(job_id) > MAX_JOB_ID):
            raise PartnerJobError({"identifier.partner_job_id": [
                f"Identifiant obligatoire, de {MAX_JOB_ID} caractères au plus."]})
        row = {**values, "partner_id": partner_id, "partner_job_id": job_id, "partner_payload": body,
               "created_at": now, "updated_at": now}
        with self.store.begin() as conn:
            offer_id = _upsert(conn, row)
        self._index(offer_id)  # after commit: the engine never shows an offer the store does not hold
        return doc_id(offer_id)

    def replace(self, partner_id: int, job_id: str, body: dict[str, Any], now: datetime) -> None:
        """Replace every field of the partner's offer `job_id` by `body` (PUT); JobNotFound otherwise."""
        offer_id = self._own(partner_id, job_id)["id"]
        values = self.mapper.columns(body, now)
        with self.store.begin() as conn:
            stored = conn.execute(sa.select(deposited_offers.c.partner_payload)
                                  .where(deposited_offers.c.id == offer_id)).scalar_one()
            payload = {**body, "identifier": (stored or {}).get("identifier") or {}}
            conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id == offer_id)
                         .values(**values, partner_payload=payload, updated_at=now))
        self._index(offer_id)

    def _own(self, partner_id: int, job_id: str) -> dict[str, Any]:
        match = ID_RE.match(job_id.strip())
        if not match:
            raise JobNotFound(job_id)
        with self.store.connect() as conn:
            row = conn.execute(sa.select(deposited_offers, api_keys.c.name.label("partner_name"))
                               .join(api_keys, api_keys.c.id == deposited_offers.c.partner_id)
                               .where(deposited_offers.c.id == int(match.group(1)),
                                      deposited_offers.c.partner_id == partner_id)).mappings().first()
        if row is None:
            raise JobNotFound(job_id)  # another partner's offer is not even said to exist
        return dict(row)

    def get(self, partner_id: int, job_id: str) -> dict[str, Any]:
        """The stored row of the partner's offer `job_id` (with `partner_name`); JobNotFound otherwise."""
        return self._own(partner_id, job_id)


def partner_counts(store: Engine, now: datetime) -> dict[int, dict[str, int]]:
    """Per partner key id: {"active": live offers, "total": every offer it pushed}."""
    live = sa.and_(deposited_offers.c.status == "active", deposited_offers.c.expires_at > now)
    query = (sa.select(deposited_offers.c.partner_id, sa.func.count().label("total"),
                       sa.func.sum(sa.case((live, 1), else_=0)).label("active"))
             .where(deposited_offers.c.partner_id.is_not(None)).group_by(deposited_offers.c.partner_id))
    with store.connect() as conn:
        return {row.partner_id: {"active": int(row.active or 0), "total": int(row.total)}
                for row in conn.execute(query)}
