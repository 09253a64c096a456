"""Offers recruiters deposit: create, edit, extend, fill, cancel, expire and remind, each change indexed at once.

Every write commits in the store first, then `index_deposited_offer` makes search agree with the
committed row (upsert when live, delete otherwise); the `deposited` job (every 10 minutes) and the
nightly rebuild read the same rows, so an indexing failure here is repaired without memory of it.
"""
from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.clock import Clock
from app.config import Settings
from app.errors import ApiError, invalid_parameters
from app.referentials import Referentials
from app.schemas_recruiter import CANCEL_REASONS, DIPLOMA_LEVELS
from app.search.contract import SearchEngine
from app.services.delegations import queue_delegation_mails
from app.services.deposited_offers import doc_id, index_deposited_offer, utc
from app.services.mailer import MailTemplates
from app.services.outbox import enqueue
from app.services.tokens import TokenExpired, TokenInvalid, Tokens, TokenUsed, is_used
from app.store import cfa_partner_companies, deposited_offers, recruiter_accounts, write_tx
from app.store.applications import CLOSE_OFFER_AFTER, CLOSED_BY_APPLICATIONS

log = logging.getLogger(__name__)

#: An active offer stays in search this long after publication or extension (reference §5.3).
ACTIVE_MONTHS = 2
#: Reminders before expiry: (days before, the column that marks it sent).
REMINDERS = ((1, "reminded_1_at"), (7, "reminded_7_at"))
LINK_PURPOSE = "offer.action"
LINK_ACTIONS = ("extend", "filled", "cancel")
#: ROME codes the public service refuses for deposited offers (reference §5.2, its issue #3468).
BLOCKED_ROMES = frozenset({"K2202", "G1605", "I1201", "L1102", "N4104"})
#: Statuses a recruiter may still close (fill or cancel) or extend.
OPEN_STATUSES = ("pending", "active", "expired")
STATUS_LABELS = {"pending": "En attente de validation", "active": "Active", "filled": "Pourvue",
                 "cancelled": "Annulée", "expired": "Expirée"}
#: status_reason of an offer the 80-application rule closed (the applications service leaves it empty).
REASON_LABELS = {"filled": "Offre pourvue", "expired": "Date d'expiration atteinte",
                 CLOSED_BY_APPLICATIONS: f"Clôturée automatiquement : {CLOSE_OFFER_AFTER} candidatures reçues",
                 **CANCEL_REASONS}


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus calendar months, the day clipped to the target month's length (31 Dec + 2 → 28/29 Feb)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days))


def department_of(postcode: str) -> str:
    """The département code of a postcode (3 digits overseas, 2A/2B for Corsica)."""
    if not postcode:
        return ""
    if postcode.startswith("97"):
        return postcode[:3]
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]


def reason_of(row: Mapping[Any, Any]) -> str:
    """Why an offer left search: its recorded reason, or the 80-application rule when that closed it."""
    if row["status_reason"]:
        return row["status_reason"]
    # Offers the rule closed before it wrote its reason are recognised by their count.
    if row["status"] == "cancelled" and (row["application_count"] or 0) >= CLOSE_OFFER_AFTER:
        return CLOSED_BY_APPLICATIONS
    return ""


def reason_label(reason: str) -> str:
    """The French label of a status reason ("autre: précision" shows the precision)."""
    key, _, comment = reason.partition(": ")
    label = REASON_LABELS.get(key, reason)
    return f"{label} — {comment}" if comment else label


def level_key(level: int | None) -> str:
    """The form's key of a European diploma level."""
    return next((key for key, (_, value) in DIPLOMA_LEVELS.items() if value == level), "indifferent")


@dataclass(frozen=True)
class Link:
    """A one-click action link of an e-mail."""

    action: str
    url: str


class RecruiterOffers:
    """The recruiter side's offers: every method takes the signed-in account row and checks ownership."""

    def __init__(self, store: Engine, engine: SearchEngine, refs: Callable[[], Referentials], settings: Settings,
                 clock: Clock, templates: MailTemplates | None = None) -> None:
        self.store = store
        self.engine = engine
        self.refs = refs
        self.settings = settings
        self.clock = clock
        self.templates = templates or MailTemplates()
        self.tokens = Tokens(settings.secret_key, settings.link_max_age_days * 86400)

    # ----- reads ---------------------------------------------------------------------------------
    def _row(self, conn: Connection, account: Mapping[Any, Any], offer_id: int) -> dict[str, Any]:
        row = conn.execute(sa.select(deposited_offers).where(
            deposited_offers.c.id == offer_id, deposited_offers.c.account_id == account["id"])).mappings().first()
        if row is None:  # another account's offer is as absent as a missing one
            raise ApiError(404, "not_found", "Offre introuvable.")
        return dict(row)

    def list_offers(self, account: Mapping[Any, Any]) -> list[dict[str, Any]]:
        """The account's offers, newest first, as the API shows them."""
        with self.store.connect() as conn:
            rows = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.account_id == account["id"])
                                .order_by(deposited_offers.c.id.desc())).mappings().all()
        return [self.to_dict(row) for row in rows]

    def get(self, account: Mapping[Any, Any], offer_id: int) -> dict[str, Any]:
        """One of the account's offers (404 for anybody else's)."""
        with self.store.connect() as conn:
            return self.to_dict(self._row(conn, account, offer_id))

    def to_dict(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        """The API form of a row: the form's fields, status, why it left search, application count."""
        reason = reason_of(row)
        expires = utc(row["expires_at"])
        return {
            "id": row["id"], "search_id": doc_id(row["id"]), "title": row["title"],
            "appellation": row["appellation"], "appellation_code": row["appellation_code"],
            "rome": (row["romes"] or [""])[0], "contract_types": list(row["contract_types"] or []),
            "diploma_level": level_key(row["diploma_level"]), "start_asap": bool(row["start_asap"]),
            "start_date": row["start_date"], "duration_months": row["duration_months"],
            "positions": row["positions"], "rhythm": row["rhythm"], "description": row["description"],
            "questions": list(row["questions"] or []), "disability_friendly": bool(row["disability_friendly"]),
            "cfa_partner_company_id": row["cfa_partner_company_id"],
            "company_name": row["company_name"], "city": row["city"],
            "status": row["status"], "status_label": STATUS_LABELS.get(row["status"], row["status"]),
            "status_reason": reason, "status_reason_label": reason_label(reason) if reason else "",
            "application_count": row["application_count"] or 0,
            "published_at": _iso(row["published_at"]), "expires_at": _iso(expires),
            "prolongation_count": row["prolongation_count"] or 0,
        }

    # ----- writes --------------------------------------------------------------------------------
    def _values(self, conn: Connection, account: Mapping[Any, Any], data: Mapping[Any, Any]) -> dict[str, Any]:
        """Store columns of a validated form: referentials checked, company and place from the account."""
        refs = self.refs()
        errors: dict[str, list[str]] = {}
        rome = data["rome"]
        if rome not in refs.rome:
            errors["rome"] = ["Code ROME inconnu : choisissez un métier dans la liste proposée."]
        elif rome in BLOCKED_ROMES:
            errors["rome"] = ["Ce métier ne peut pas faire l'objet d'une offre en alternance sur La bonne alternance."]
        code = data.get("appellation_code") or ""
        if code:
            appellation = refs.rome.appellations.get(code)
            if appellation is None:
                errors["appellation"] = ["Métier inconnu : choisissez-le dans la liste proposée."]
            elif appellation.rome != rome:
                errors["appellation"] = ["Ce métier ne correspond pas au code ROME choisi."]
        company: Mapping[Any, Any] = account
        partner_id = data.get("cfa_partner_company_id")
        if account["kind"] == "cfa":
            partner = None
            if partner_id is not None:
                partner = conn.execute(sa.select(cfa_partner_companies).where(
                    cfa_partner_companies.c.id == partner_id,
                    cfa_partner_companies.c.cfa_account_id == account["id"])).mappings().first()
            if partner is None:
                errors["cfa_partner_company_id"] = ["Choisissez l'entreprise pour laquelle vous publiez l'offre."]
            else:
                company = partner
        elif partner_id is not None:
            errors["cfa_partner_company_id"] = ["Seul un compte CFA publie pour une entreprise partenaire."]
        if company is not None and (company["latitude"] is None or company["longitude"] is None):
            errors.setdefault("form", []).append(
                "L'adresse de l'établissement n'est pas localisée : l'offre ne peut pas être placée sur la carte.")
        if errors:
            raise invalid_parameters(errors)
        level = DIPLOMA_LEVELS[data["diploma_level"]][1]
        start: date | None = data.get("start_date")
        return {
            "title": data.get("title") or data["appellation"], "romes": [rome], "appellation": data["appellation"],
            "appellation_code": code, "contract_types": data["contract_types"], "diploma_level": level,
            "start_asap": data["start_asap"], "start_date": start.isoformat() if start else None,
            "duration_months": data["duration_months"], "positions": data["positions"], "rhythm": data["rhythm"],
            "description": data["description"], "questions": data["questions"],
            "disability_friendly": data["disability_friendly"], "cfa_partner_company_id": partner_id,
            "latitude": company["latitude"], "longitude": company["longitude"], "address": company["address"],
            "city": company["city"], "postcode": company["postcode"], "insee": company["insee"],
            "department": department_of(company["postcode"]), "company_name": company["company_name"],
            "company_siret": company["siret"], "company_naf": (company["naf"] or "").replace(".", "")[:5],
            "company_naf_label": company["naf_label"], "company_size": company["size"],
            "company_opco": company["opco"],
            "apply_email": (company.get("email") if company is not account else "") or account["email"],
            "apply_phone": (company.get("phone") if company is not account else "") or account["phone"],
        }

    def create(self, account: Mapping[Any, Any], data: Mapping[Any, Any]) -> dict[str, Any]:
        """Save a new offer: active for two months when the account is validated, else pending (not indexed)."""
        now = self.clock.now()
        with write_tx(self.store) as conn:
            values = self._values(conn, account, data)
            validated = account["status"] == "validated"
            values.update(account_id=account["id"], status="active" if validated else "pending", status_reason="",
                          published_at=now, expires_at=add_months(now, ACTIVE_MONTHS), created_at=now,
                          updated_at=now, application_count=0, prolongation_count=0, multicast=True)
            key = conn.execute(sa.insert(deposited_offers).values(**values)).inserted_primary_key
            assert key is not None
            row = self._row(conn, account, int(key[0]))
        return self._indexed(row)

    def update(self, account: Mapping[Any, Any], offer_id: int, data: Mapping[Any, Any]) -> dict[str, Any]:
        """Edit an offer still open (pending, active or expired); its status and expiry are kept."""
        now = self.clock.now()
        with write_tx(self.store) as conn:
            row = self._row(conn, account, offer_id)
            if row["status"] not in OPEN_STATUSES:
                raise ApiError(409, "offer_closed", "Cette offre est close : elle ne peut plus être modifiée.")
            values = self._values(conn, account, data)
            conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id == offer_id)
                         .values(**values, updated_at=now))
            row = self._row(conn, account, offer_id)
        return self._indexed(row)

    def _transition(self, conn: Connection, row: Mapping[Any, Any], action: str, reason: str = "") -> None:
        """Apply `action` to a row inside `conn` (ownership already checked); 409 when it cannot apply."""
        now = self.clock.now()
        if row["status"] not in OPEN_STATUSES:
            raise ApiError(409, "offer_closed", f"Cette offre est déjà {STATUS_LABELS[row['status']].lower()}.")
        if action == "extend":
            if row["status"] == "pending":
                raise ApiError(409, "offer_pending", "Cette offre attend la validation de votre compte : "
                                                     "elle sera publiée pour deux mois à la validation.")
            values: dict[str, Any] = {
                "status": "active", "status_reason": "", "expires_at": add_months(now, ACTIVE_MONTHS),
                "prolongation_count": (row["prolongation_count"] or 0) + 1, "reminded_7_at": None,
                "reminded_1_at": None, "expiry_notified_at": None}
        elif action == "filled":
            values = {"status": "filled", "status_reason": "filled"}
        else:
            values = {"status": "cancelled", "status_reason": reason}
        conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id == row["id"])
                     .values(**values, updated_at=now))

    def act(self, account: Mapping[Any, Any], offer_id: int, action: str, reason: str = "") -> dict[str, Any]:
        """Extend (now + 2 months), mark filled, or cancel with a reason; the change reaches search at once."""
        with write_tx(self.store) as conn:
            row = self._row(conn, account, offer_id)
            self._transition(conn, row, action, reason)
            row = self._row(conn, account, offer_id)
        return self._indexed(row)

    def _indexed(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        """Make search agree with a committed row, then answer its API form."""
        index_deposited_offer(self.engine, row, self.refs(), self.clock.now())
        return self.to_dict(row)

    def index_offers(self, offer_ids: Iterable[int]) -> int:
        """Index committed rows by id (after `on_account_validated`'s transaction commits); returns how many."""
        ids = list(offer_ids)
        if not ids:
            return 0
        with self.store.connect() as conn:
            rows = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id.in_(ids))).mappings().all()
        for row in rows:
            index_deposited_offer(self.engine, row, self.refs(), self.clock.now())
        return len(rows)

    # ----- account validation (called by the accounts service inside its transaction) -------------
    def on_account_validated(self, conn: Connection, account: Mapping[Any, Any], now: datetime) -> list[int]:
        """Activate the account's pending offers (expiring now + 2 months) and queue their CFA e-mails.

        Runs inside the validation transaction, so nothing may reach search before that commit. The
        activated ids are returned, and left in the connection's `info` for `_index_after_checkin`:
        when the connection goes back to the pool (its transaction over) they are indexed from the
        store's committed rows, so the caller has nothing to do (after a rollback the rows are still
        pending and indexing them removes nothing that was there). If the engine is down then, the
        `deposited` job (every 10 minutes) indexes them from `updated_at`.
        """
        ids = [r[0] for r in conn.execute(sa.select(deposited_offers.c.id).where(
            deposited_offers.c.account_id == account["id"], deposited_offers.c.status == "pending"))]
        if ids:
            conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id.in_(ids)).values(
                status="active", published_at=now, expires_at=add_months(now, ACTIVE_MONTHS), updated_at=now))
        queue_delegation_mails(conn, self.templates, account, now, self.settings)
        if ids:
            conn.info.setdefault(INDEX_AFTER_CHECKIN, []).append((self, ids))
            _listen_for_checkin(conn.engine)
        return ids

    # ----- signed one-click links ----------------------------------------------------------------
    def link(self, row: Mapping[Any, Any], action: str) -> Link:
        """A single-use signed link to `action` the offer, valid until the offer's expiry + link days."""
        until = (utc(row["expires_at"]) or self.clock.now()) + timedelta(days=self.settings.link_max_age_days)
        token = self.tokens.issue(LINK_PURPOSE, {"offer": row["id"], "action": action,
                                                 "until": until.strftime("%Y-%m-%dT%H:%M:%SZ")})
        return Link(action, f"{self.settings.public_base_url}/espace-pro/offres/action?token={token}")

    def _read_link(self, token: str) -> dict[str, Any]:
        try:
            payload = self.tokens.read(LINK_PURPOSE, token)
        except TokenExpired:
            raise ApiError(410, "link_expired", "Ce lien a expiré : gérez l'offre depuis votre tableau de bord.") \
                from None
        except TokenInvalid:
            raise ApiError(400, "link_invalid", "Ce lien est invalide.") from None
        if payload.get("action") not in LINK_ACTIONS or not isinstance(payload.get("offer"), int):
            raise ApiError(400, "link_invalid", "Ce lien est invalide.")
        until = datetime.fromisoformat(str(payload.get("until", "")).replace("Z", "+00:00"))
        if until <= self.clock.now():
            raise ApiError(410, "link_expired", "Ce lien a expiré : gérez l'offre depuis votre tableau de bord.")
        return payload

    def link_context(self, token: str) -> dict[str, Any]:
        """What the confirmation page shows for a link, without using it (mail scanners open links)."""
        payload = self._read_link(token)
        with self.store.connect() as conn:
            if is_used(conn, token):
                raise ApiError(409, "link_used", "Ce lien a déjà été utilisé.")
            row = conn.execute(sa.select(deposited_offers).where(
                deposited_offers.c.id == payload["offer"])).mappings().first()
        if row is None:
            raise ApiError(404, "not_found", "Offre introuvable.")
        return {"action": payload["action"], "offer": self.to_dict(row)}

    def act_by_link(self, token: str, reason: str = "") -> dict[str, Any]:
        """Use a link once: check it, record it used and apply its action in one transaction."""
        payload = self._read_link(token)
        if payload["action"] == "cancel" and reason.partition(": ")[0] not in CANCEL_REASONS:
            raise invalid_parameters({"reason": ["Choisissez un motif d'annulation."]})
        with write_tx(self.store) as conn:
            try:
                self.tokens.consume(conn, LINK_PURPOSE, token)
            except TokenUsed:
                raise ApiError(409, "link_used", "Ce lien a déjà été utilisé.") from None
            row = conn.execute(sa.select(deposited_offers).where(
                deposited_offers.c.id == payload["offer"])).mappings().first()
            if row is None:
                raise ApiError(404, "not_found", "Offre introuvable.")
            self._transition(conn, row, payload["action"], reason)
            row = conn.execute(sa.select(deposited_offers).where(
                deposited_offers.c.id == payload["offer"])).mappings().one()
        return {"action": payload["action"], "offer": self._indexed(row)}

    # ----- the lifecycle job ---------------------------------------------------------------------
    def run_lifecycle(self, now: datetime | None = None) -> dict[str, int]:
        """Expire offers past their date (out of search, e-mailed once) and send the 7-day and 1-day reminders.

        Each mark is set by an UPDATE guarded on the mark being empty, in the transaction that queues
        the e-mail: two runs at once (two schedulers, a manual `lba offers lifecycle`) send it once.
        """
        moment = now or self.clock.now()
        counts = {"expired": 0, "reminded_7": 0, "reminded_1": 0}
        expired: list[int] = []
        with write_tx(self.store) as conn:
            due = conn.execute(sa.select(deposited_offers, recruiter_accounts.c.email.label("account_email"))
                               .select_from(deposited_offers.outerjoin(
                                   recruiter_accounts, recruiter_accounts.c.id == deposited_offers.c.account_id))
                               .where(deposited_offers.c.status == "active",
                                      deposited_offers.c.account_id.is_not(None),
                                      deposited_offers.c.expires_at <= moment + timedelta(days=7))
                               .order_by(deposited_offers.c.id)).mappings().all()
            for row in due:
                expires = utc(row["expires_at"])
                assert expires is not None
                if expires <= moment:
                    done = conn.execute(sa.update(deposited_offers).where(
                        deposited_offers.c.id == row["id"], deposited_offers.c.status == "active").values(
                        status="expired", status_reason="expired", expiry_notified_at=moment, updated_at=moment))
                    if done.rowcount == 1:
                        self._mail(conn, row, "offer_expired", moment, {})
                        expired.append(row["id"])
                        counts["expired"] += 1
                    continue
                for days, mark in REMINDERS:
                    if expires - moment > timedelta(days=days):
                        continue
                    # A 1-day reminder also stands for a 7-day one never sent (an offer extended late).
                    marks = {m: moment for d, m in REMINDERS if d >= days}
                    done = conn.execute(sa.update(deposited_offers).where(
                        deposited_offers.c.id == row["id"], getattr(deposited_offers.c, mark).is_(None))
                        .values(**marks))
                    if done.rowcount == 1:
                        self._mail(conn, row, "offer_reminder", moment, {"days": days})
                        counts[f"reminded_{days}"] += 1
                    break
        self.index_offers(expired)
        return counts

    def _mail(self, conn: Connection, row: Mapping[Any, Any], template: str, now: datetime,
              extra: dict[str, Any]) -> None:
        to = row.get("account_email") or row["apply_email"]
        if not to:
            log.warning("offer %s has no address to e-mail", row["id"])
            return
        links = {action: self.link(row, action).url for action in LINK_ACTIONS}
        context = {"title": row["title"], "company_name": row["company_name"],
                   "expires_on": _french_day(utc(row["expires_at"])), "links": links,
                   "dashboard_url": f"{self.settings.public_base_url}/espace-pro/tableau-de-bord", **extra}
        enqueue(conn, kind=template.replace("_", "."), to=to, ref=("deposited_offer", str(row["id"])),
                rendered=self.templates.render(template, context), now=now,
                max_attempts=self.settings.outbox_max_attempts)


#: Connection-info key: (service, offer ids) to index once the connection's transaction is over.
INDEX_AFTER_CHECKIN = "lba.offers_to_index"
_LISTENED: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def _index_after_checkin(dbapi_connection: Any, record: Any) -> None:
    """Pool `checkin` hook: index the offers a finished transaction activated (see `on_account_validated`)."""
    pending = record.info.pop(INDEX_AFTER_CHECKIN, None) if record is not None else None
    for service, ids in pending or ():
        try:
            service.index_offers(ids)
        except Exception:  # noqa: BLE001 - never break a connection's return to the pool; the job repairs
            log.exception("offers %s activated but not indexed: the deposited job will index them", ids)


def _listen_for_checkin(store: Engine) -> None:
    if store not in _LISTENED:
        sa.event.listen(store, "checkin", _index_after_checkin)
        _LISTENED.add(store)


def _iso(moment: datetime | None) -> str | None:
    value = utc(moment)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _french_day(moment: datetime | None) -> str:
    from app.clock import DAY_ZONE

    return moment.astimezone(DAY_ZONE).strftime("%d/%m/%Y") if moment else ""
