"""Recruiter accounts: sign-up by SIRET, sign-in by e-mailed magic link, validation by e-mail domain or validator."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.config import Settings
from app.services.recruiter_account_base import COMPANY_KINDS, company_columns
from app.services.recruiter_account_errors import AccountError, LinkError, NotAllowed
from app.services.recruiter_account_partners import AccountPartners
from app.services.recruiter_account_sign_in import DASHBOARD_PATH, AccountSignIn
from app.store import recruiter_accounts, write_tx

# The handlers and the command line take the account service's names from this module, whichever part defines them.
__all__ = ["DASHBOARD_PATH", "AccountError", "AccountService", "LinkError", "NotAllowed", "SignUp",
           "build_account_service"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignUp:
    """What a recruiter typed to open an account."""

    kind: str
    siret: str
    email: str
    first_name: str
    last_name: str
    phone: str


class AccountService(AccountSignIn, AccountPartners):
    """Accounts of companies and CFAs, and their validators; every e-mail goes through the outbox.

    Rules of the sign-up (la-bonne-alternance.md §5): a company account names one establishment by
    SIRET, the company-search API gives its data; closed establishments and education-sector ones
    (NAF 85: they sign up as CFAs) are refused; one account per e-mail address (lower-cased). The
    other parts live beside this module: sign-in (recruiter_account_sign_in), validation
    (recruiter_account_validation), a CFA's partner companies (recruiter_account_partners).
    """

    # -- sign-up ---------------------------------------------------------------------------------------------
    def sign_up(self, data: SignUp) -> dict[str, Any]:
        """Create a pending account for `data` and queue its first magic link; returns the account's row.

        Raises SiretError, CompanySearchError (closed, education, unknown…) or AccountError (address taken).
        """
        if data.kind not in COMPANY_KINDS:
            raise AccountError("Type de compte inconnu.", "kind")
        company = self.company(data.siret, data.kind)
        email = data.email.strip().lower()
        now = self.clock.now()
        with write_tx(self.store) as conn:
            if self._by_email(conn, email) is not None:
                raise AccountError("Un compte existe déjà avec cette adresse e-mail : connectez-vous.", "email",
                                   "email_taken")
            account_id = conn.execute(sa.insert(recruiter_accounts).values(
                kind=data.kind, email=email, first_name=data.first_name.strip(), last_name=data.last_name.strip(),
                phone=data.phone.strip(), status="pending", is_admin=False, session_version=1,
                created_at=now, updated_at=now, **company_columns(company))
                .returning(recruiter_accounts.c.id)).scalar_one()
            account = self._row(conn, account_id)
            self._queue_login(conn, account, now)
        log.info("recruiter account %s created (%s)", account_id, data.kind)
        return account


def build_account_service(app: Any) -> AccountService:
    """The app's account service (the factory stores it as `lba.accounts`; `lba.on_validated` is its callback list)."""
    from app.services.company_search import client_from_settings

    settings: Settings = app.extensions["lba.settings"]
    store = app.extensions["lba.store"]
    clock = app.extensions["lba.clock"]
    companies = client_from_settings(settings, store, clock, lambda: app.extensions.get("lba.refs"))
    callbacks = app.extensions.setdefault("lba.on_validated", [])
    return AccountService(store, clock, settings, companies, on_validated=callbacks,
                          engine=app.extensions.get("lba.engine"))
