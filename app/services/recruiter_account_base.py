"""What every part of the recruiter account service shares: its constructor, the company check and the account rows."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.clock import Clock
from app.config import Settings
from app.services.company_search import Company, CompanySearch, eligible
from app.services.mailer import MailTemplates
from app.services.siret import check_siret
from app.services.tokens import Tokens
from app.store import recruiter_accounts

COMPANY_KINDS = ("entreprise", "cfa")
#: Called in the validation transaction with (connection, the validated account's row, now).
OnValidated = Callable[[Connection, dict, datetime], None]


class AccountBase:
    """The account service's state (store, clock, mail templates, validation callbacks) and its row reads."""

    def __init__(self, store: Engine, clock: Clock, settings: Settings, companies: CompanySearch,
                 tokens: Tokens | None = None, templates: MailTemplates | None = None,
                 on_validated: list[OnValidated] | None = None, engine: Any = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.companies = companies
        self.tokens = tokens or Tokens.from_settings(settings)
        self.templates = templates or MailTemplates()
        self.on_validated: list[OnValidated] = on_validated if on_validated is not None else []
        self.engine = engine  # the search engine, for the company contact e-mail of the recruiters index

    # -- companies -------------------------------------------------------------------------------------------
    def company(self, siret_text: str, kind: str = "entreprise") -> Company:
        """The establishment an account of `kind` may be opened for, or a CompanySearchError / SiretError.

        A CFA is itself an education establishment, so only its closing is refused.
        """
        siret = check_siret(siret_text)
        return eligible(self.companies.lookup(siret), allow_education=(kind == "cfa"))

    # -- rows ------------------------------------------------------------------------------------------------
    @staticmethod
    def _row(conn: Connection, account_id: int) -> dict[str, Any]:
        row = conn.execute(sa.select(recruiter_accounts)
                           .where(recruiter_accounts.c.id == account_id)).mappings().first()
        return _normalise(dict(row)) if row is not None else None  # type: ignore[return-value]

    def _row_by_id(self, account_id: int) -> dict[str, Any] | None:
        with self.store.connect() as conn:
            return self._row(conn, account_id)

    @staticmethod
    def _by_email(conn: Connection, email: str) -> dict[str, Any] | None:
        row = conn.execute(sa.select(recruiter_accounts).where(recruiter_accounts.c.email == email)).mappings().first()
        return _normalise(dict(row)) if row is not None else None

    def account(self, account_id: int) -> dict[str, Any] | None:
        """One account's row, or None."""
        return self._row_by_id(account_id)


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("email_confirmed_at", "validated_at", "last_login_at", "created_at", "updated_at"):
        row[name] = _aware(row.get(name))
    return row


def company_columns(company: Company) -> dict[str, Any]:
    """The establishment columns an account or a partner company stores, cut to the columns' lengths."""
    return {"siret": company.siret, "company_name": company.name[:300], "address": company.address[:300],
            "postcode": company.postcode[:10], "city": company.city[:200], "insee": company.insee[:5],
            "latitude": company.latitude, "longitude": company.longitude, "naf": company.naf[:6],
            "naf_label": company.naf_label[:300], "size": company.size[:50], "opco": company.opco[:100]}


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite gives back naive UTC datetimes
        return moment.replace(tzinfo=timezone.utc)
    return moment

