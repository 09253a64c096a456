"""CFA delegation: the CFAs within 100 km training for an offer's job, the recruiter's picks, their e-mails."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.clock import Clock
from app.config import Settings
from app.errors import ApiError, invalid_parameters
from app.search.contract import EngineUnavailable, MatchQuery, SearchEngine, distance_key
from app.services.mailer import MailTemplates
from app.services.outbox import enqueue
from app.store import deposited_offers, offer_delegations, recruiter_accounts, write_tx

#: The public service's radius for "CFAs nearby" (reference §5.3, `cfas-proches`).
RADIUS_KM = 100.0
MAX_PROPOSED = 20
#: Formation documents fetched per round while collecting distinct CFAs.
BATCH = 200


def nearby_cfas(engine: SearchEngine, rome: str, latitude: float, longitude: float,
                limit: int = MAX_PROPOSED) -> list[dict[str, Any]]:
    """Distinct CFAs (by SIRET) with an e-mail that train for `rome` within 100 km, nearest first.

    Read through the engine contract (both engines): the formations of the ROME in the radius,
    sorted by distance, each CFA kept at its nearest formation.
    """
    query = MatchQuery(romes=(rome,), latitude=latitude, longitude=longitude, radius_km=RADIUS_KM,
                       kinds=("formation",), page_size=None)
    try:
        hits = sorted(engine.iter_candidates(query), key=distance_key)
    except EngineUnavailable:
        return []
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(hits), BATCH):
        chunk = hits[start:start + BATCH]
        documents = engine.get_many("formation", [hit.id for hit in chunk])
        for hit in chunk:
            doc = documents.get(hit.id)
            if doc is None:
                continue
            organisation = doc.get("organisation") or {}
            siret = organisation.get("siret") or ""
            email = (doc.get("private") or {}).get("email") or ""
            if not siret or not email or siret in found:
                continue
            found[siret] = {"siret": siret, "name": organisation.get("name") or "", "email": email,
                            "city": (doc.get("place") or {}).get("city") or "", "formation_id": hit.id,
                            "formation_title": doc.get("title") or "",
                            "distance_km": round(hit.distance_km or 0.0, 1)}
            if len(found) >= limit:
                return list(found.values())
    return list(found.values())


def public(cfa: Mapping[Any, Any]) -> dict[str, Any]:
    """What the recruiter sees of a proposed CFA: no e-mail address (the service writes to the CFA)."""
    return {key: value for key, value in cfa.items() if key != "email"}


def queue_delegation_mails(conn: Connection, templates: MailTemplates, account: Mapping[Any, Any], now: datetime,
                           settings: Settings, offer_ids: Iterable[int] | None = None) -> int:
    """Queue "Une entreprise recrute dans votre domaine" to each picked CFA not yet told, of the account's live offers.

    `notified_at` is set by an UPDATE guarded on it being empty, in the caller's transaction,
    before the e-mail is queued in that same transaction: a CFA is e-mailed once per offer.
    """
    query = (sa.select(offer_delegations, deposited_offers.c.title, deposited_offers.c.company_name,
                       deposited_offers.c.city, deposited_offers.c.postcode)
             .select_from(offer_delegations.join(deposited_offers,
                                                 deposited_offers.c.id == offer_delegations.c.offer_id))
             .where(deposited_offers.c.account_id == account["id"], deposited_offers.c.status == "active",
                    offer_delegations.c.notified_at.is_(None)))
    if offer_ids is not None:
        query = query.where(offer_delegations.c.offer_id.in_(list(offer_ids)))
    sent = 0
    for row in conn.execute(query.order_by(offer_delegations.c.id)).mappings().all():
        done = conn.execute(sa.update(offer_delegations).where(
            offer_delegations.c.id == row["id"], offer_delegations.c.notified_at.is_(None)).values(notified_at=now))
        if done.rowcount != 1:
            continue
        context = {"cfa_name": row["cfa_name"], "title": row["title"], "company_name": row["company_name"],
                   "city": row["city"], "postcode": row["postcode"], "distance_km": row["distance_km"],
                   "contact_email": account["email"], "contact_name":
                       " ".join(filter(None, [account["first_name"], account["last_name"]])),
                   "offer_url": f"{settings.public_base_url}/offres/deposited-{row['offer_id']}"}
        enqueue(conn, kind="offer.delegation", to=row["cfa_email"], ref=("offer_delegation", str(row["id"])),
                rendered=templates.render("cfa_delegation", context), now=now,
                max_attempts=settings.outbox_max_attempts)
        sent += 1
    return sent


class Delegations:
    """The recruiter's view: CFAs proposed for one of their offers, and the ones they picked."""

    def __init__(self, store: Engine, engine: SearchEngine, settings: Settings, clock: Clock,
                 templates: MailTemplates | None = None) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.templates = templates or MailTemplates()

    def _offer(self, conn: Connection, account: Mapping[Any, Any], offer_id: int) -> dict[str, Any]:
        row = conn.execute(sa.select(deposited_offers).where(
            deposited_offers.c.id == offer_id, deposited_offers.c.account_id == account["id"])).mappings().first()
        if row is None:
            raise ApiError(404, "not_found", "Offre introuvable.")
        return dict(row)

    def _proposed(self, offer: Mapping[Any, Any]) -> list[dict[str, Any]]:
        rome = (offer["romes"] or [""])[0]
        return nearby_cfas(self.engine, rome, offer["latitude"], offer["longitude"]) if rome else []

    def proposals(self, account: Mapping[Any, Any], offer_id: int) -> dict[str, Any]:
        """The CFAs nearby (nearest first) and the SIRETs already picked for the offer."""
        with self.store.connect() as conn:
            offer = self._offer(conn, account, offer_id)
            chosen = conn.execute(sa.select(offer_delegations).where(
                offer_delegations.c.offer_id == offer_id).order_by(offer_delegations.c.id)).mappings().all()
        return {"offer_id": offer_id, "title": offer["title"], "status": offer["status"],
                "cfas": [public(cfa) for cfa in self._proposed(offer)],
                "chosen": [{"siret": r["cfa_siret"], "name": r["cfa_name"],
                            "notified": r["notified_at"] is not None} for r in chosen]}

    def choose(self, account: Mapping[Any, Any], offer_id: int, sirets: list[str]) -> dict[str, Any]:
        """Record the picked CFAs (among those proposed); e-mailed now if the account is validated, else then."""
        now = self.clock.now()
        with self.store.connect() as conn:
            offer = self._offer(conn, account, offer_id)
        proposed = {cfa["siret"]: cfa for cfa in self._proposed(offer)}
        unknown = [siret for siret in sirets if siret not in proposed]
        if unknown:
            raise invalid_parameters({"cfa_sirets": [f"École non proposée pour cette offre : {', '.join(unknown)}."]})
        with write_tx(self.store) as conn:
            have = {r[0] for r in conn.execute(sa.select(offer_delegations.c.cfa_siret)
                                               .where(offer_delegations.c.offer_id == offer_id))}
            for siret in dict.fromkeys(sirets):
                if siret in have:
                    continue
                cfa = proposed[siret]
                conn.execute(sa.insert(offer_delegations).values(
                    offer_id=offer_id, cfa_siret=siret, cfa_name=cfa["name"], cfa_email=cfa["email"],
                    formation_id=cfa["formation_id"], distance_km=cfa["distance_km"], created_at=now))
            fresh = conn.execute(sa.select(recruiter_accounts).where(
                recruiter_accounts.c.id == account["id"])).mappings().one()
            if fresh["status"] == "validated":
                queue_delegation_mails(conn, self.templates, fresh, now, self.settings, [offer_id])
        return self.proposals(account, offer_id)
