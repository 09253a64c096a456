"""Offers recruiters deposit: create, edit, extend, fill, cancel, expire and remind, each change indexed at once."""
from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.clock import Clock
from app.config import Settings
from app.errors import ApiError, invalid_parameters
from app.referentials import Referentials
from app.schemas_recruiter import CANCEL_REASONS
from app.search.contract import SearchEngine
from app.services.delegations import queue_delegation_mails
from app.services.deposited_offers import index_deposited_offer
from app.services.mailer import MailTemplates
from app.services.recruiter_offer_form import offer_columns
from app.services.recruiter_offer_lifecycle import expire_and_remind
from app.services.recruiter_offer_links import LINK_PURPOSE, Link, offer_link, read_offer_link
from app.services.recruiter_offer_view import STATUS_LABELS, offer_view
from app.services.tokens import Tokens, TokenUsed, is_used
from app.store import deposited_offers, write_tx

log = logging.getLogger(__name__)

#: An active offer stays in search this long after publication or extension (reference §5.3).
ACTIVE_MONTHS = 2
#: Statuses a recruiter may still close (fill or cancel) or extend.
OPEN_STATUSES = ("pending", "active", "expired")


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus calendar months, the day clipped to the target month's length (31 Dec + 2 → 28/29 Feb)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days))


class RecruiterOffers:
    """The recruiter side's offers: every method takes the signed-in account row and checks ownership.

    Every write commits in the store first, then `index_deposited_offer` makes search agree with the
    committed row (upsert when live, delete otherwise); the `deposited` job (every 10 minutes) and the
    nightly rebuild read the same rows, so an indexing failure here is repaired without memory of it.
    """

    def __init__(self, store: Engine, engine: SearchEngine, refs: Callable[[], Referentials], settings: Settings,
                 clock: Clock, templates: MailTemplates | None = None) -> None:
        self.store = store
        self.engine = engine
        self.refs = refs
        self.settings = settings
        self.clock = clock
        self.templates = templates or MailTemplates()
        self.tokens = Tokens.from_settings(settings)

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
        return offer_view(row)

    # ----- writes --------------------------------------------------------------------------------
    def create(self, account: Mapping[Any, Any], data: Mapping[Any, Any]) -> dict[str, Any]:
        """Save a new offer: active for two months when the account is validated, else pending (not indexed)."""
        now = self.clock.now()
        with write_tx(self.store) as conn:
            values = offer_columns(conn, self.refs(), account, data)
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
            values = offer_columns(conn, self.refs(), account, data)
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
        return offer_link(self.tokens, self.settings, self.clock, row, action)

    def link_context(self, token: str) -> dict[str, Any]:
        """What the confirmation page shows for a link, without using it (mail scanners open links)."""
        payload = read_offer_link(self.tokens, self.clock, token)
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
        payload = read_offer_link(self.tokens, self.clock, token)
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
        """Expire offers past their date (out of search, e-mailed once) and send the 7-day and 1-day reminders."""
        return expire_and_remind(self, now or self.clock.now())


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
