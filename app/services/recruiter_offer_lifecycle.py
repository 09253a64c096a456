"""The offers' lifecycle job: expire offers past their date and send the 7-day and 1-day reminders, each once."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.clock import DAY_ZONE
from app.services.deposited_offers import utc
from app.services.outbox import enqueue
from app.services.recruiter_offer_links import LINK_ACTIONS
from app.store import deposited_offers, recruiter_accounts, write_tx

if TYPE_CHECKING:
    from app.services.recruiter_offers import RecruiterOffers

log = logging.getLogger(__name__)

#: Reminders before expiry: (days before, the column that marks it sent).
REMINDERS = ((1, "reminded_1_at"), (7, "reminded_7_at"))


def expire_and_remind(offers: RecruiterOffers, moment: datetime) -> dict[str, int]:
    """One pass at `moment`: how many offers expired and how many of each reminder were queued.

    Each mark is set by an UPDATE guarded on the mark being empty, in the transaction that queues
    the e-mail: two runs at once (two schedulers, a manual `lba offers lifecycle`) send it once.
    """
    counts = {"expired": 0, "reminded_7": 0, "reminded_1": 0}
    expired: list[int] = []
    with write_tx(offers.store) as conn:
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
                    _mail(offers, conn, row, "offer_expired", moment, {})
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
                    _mail(offers, conn, row, "offer_reminder", moment, {"days": days})
                    counts[f"reminded_{days}"] += 1
                break
    offers.index_offers(expired)
    return counts


def _mail(offers: RecruiterOffers, conn: Connection, row: Mapping[Any, Any], template: str, now: datetime,
          extra: dict[str, Any]) -> None:
    to = row.get("account_email") or row["apply_email"]
    if not to:
        log.warning("offer %s has no address to e-mail", row["id"])
        return
    links = {action: offers.link(row, action).url for action in LINK_ACTIONS}
    context = {"title": row["title"], "company_name": row["company_name"],
               "expires_on": _french_day(utc(row["expires_at"])), "links": links,
               "dashboard_url": f"{offers.settings.public_base_url}/espace-pro/tableau-de-bord", **extra}
    enqueue(conn, kind=template.replace("_", "."), to=to, ref=("deposited_offer", str(row["id"])),
            rendered=offers.templates.render(template, context), now=now,
            max_attempts=offers.settings.outbox_max_attempts)


def _french_day(moment: datetime | None) -> str:
    return moment.astimezone(DAY_ZONE).strftime("%d/%m/%Y") if moment else ""
