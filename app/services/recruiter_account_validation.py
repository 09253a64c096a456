"""Validating recruiter accounts: at once when the e-mail's domain is known for the company, else by a validator."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.services.opt_out import webmail_domains
from app.services.outbox import enqueue
from app.services.recruiter_account_base import COMPANY_KINDS, AccountBase
from app.services.recruiter_account_errors import AccountError, NotAllowed
from app.store import recruiter_accounts, write_tx

log = logging.getLogger(__name__)


def domain_of(email: str) -> str:
    """The lower-cased domain of an address ('' without one)."""
    return email.rsplit("@", 1)[1].strip().lower() if "@" in email else ""


class AccountValidation(AccountBase):
    """Validation of company and CFA accounts (la-bonne-alternance.md §5).

    An account is validated at once when its e-mail is confirmed (by following a magic link) and the
    address's domain — a private one, not a public mailbox — is one already known for the company:
    the domain of a validated account of the same SIREN, or of the company's contact address in the
    recruiters index; otherwise it stays pending until an administrator or the company's OPCO decides.
    Validating runs the `on_validated` callbacks inside the validation transaction (the offers side
    activates the account's pending offers and e-mails the chosen CFAs there), so either all of it
    happens or none.
    """

    # -- automatic validation --------------------------------------------------------------------------------
    def _known_company_email(self, account: dict[str, Any] | None) -> str:
        """The contact e-mail the recruiters index knows for the account's establishment ('' if none)."""
        if account is None or self.engine is None or not account["siret"]:
            return ""
        try:
            doc = self.engine.get_many("company", [account["siret"]]).get(account["siret"])
        except Exception as exc:  # the index being down must not stop a sign-in: validation waits instead
            log.warning("recruiter accounts: company index unavailable (%s)", type(exc).__name__)
            return ""
        return str(((doc or {}).get("private") or {}).get("email") or "")

    def _domain_is_known(self, conn: Connection, account: dict[str, Any], known_email: str) -> bool:
        domain = domain_of(account["email"])
        if not domain or domain in webmail_domains():
            return False
        if known_email and domain_of(known_email) == domain:
            return True
        siren = account["siret"][:9]
        others = conn.execute(sa.select(recruiter_accounts.c.email).where(
            recruiter_accounts.c.siret.like(f"{siren}%"), recruiter_accounts.c.status == "validated",
            recruiter_accounts.c.id != account["id"])).scalars().all()
        return any(domain_of(other) == domain for other in others)

    def _validate(self, conn: Connection, account: dict[str, Any], by: str, now: datetime, notify: bool) -> None:
        conn.execute(sa.update(recruiter_accounts).where(recruiter_accounts.c.id == account["id"]).values(
            status="validated", status_reason="", validated_at=now, validated_by=by, updated_at=now))
        validated = self._row(conn, account["id"])
        for callback in self.on_validated:
            callback(conn, validated, now)
        if notify:
            rendered = self.templates.render("recruiter/validated", {
                "first_name": validated["first_name"], "company_name": validated["company_name"],
                "url": f"{self.settings.public_base_url.rstrip('/')}/espace-pro/connexion"})
            enqueue(conn, kind="recruiter.validated", to=validated["email"], rendered=rendered,
                    ref=("recruiter_account", str(validated["id"])), now=now)

    # -- validators ------------------------------------------------------------------------------------------
    @staticmethod
    def is_validator(viewer: dict[str, Any] | None) -> bool:
        """Whether `viewer` (an account row) may see and decide pending accounts."""
        return bool(viewer and viewer["is_admin"] and viewer["status"] == "validated")

    def _scope(self, viewer: dict[str, Any] | None) -> Any:
        if not self.is_validator(viewer):
            raise NotAllowed("Cette page est réservée aux administrateurs et aux OPCO.", code="forbidden")
        assert viewer is not None
        if viewer["kind"] == "opco":  # an OPCO's validators decide for their own companies only
            return recruiter_accounts.c.opco == viewer["opco"]
        return sa.true()

    def pending_accounts(self, viewer: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Pending company and CFA accounts `viewer` may decide, oldest first."""
        scope = self._scope(viewer)
        with self.store.connect() as conn:
            rows = conn.execute(sa.select(recruiter_accounts).where(
                recruiter_accounts.c.status == "pending", recruiter_accounts.c.kind.in_(COMPANY_KINDS), scope)
                .order_by(recruiter_accounts.c.created_at, recruiter_accounts.c.id)).mappings().all()
        return [dict(row) for row in rows]

    def _pending_for(self, conn: Connection, viewer: dict[str, Any] | None, account_id: int) -> dict[str, Any]:
        scope = self._scope(viewer)
        row = conn.execute(sa.select(recruiter_accounts).where(
            recruiter_accounts.c.id == account_id, recruiter_accounts.c.kind.in_(COMPANY_KINDS), scope)
            .with_for_update()).mappings().first()
        if row is None:
            raise NotAllowed("Ce compte n'existe pas ou ne relève pas de vous.", code="not_found")
        if row["status"] != "pending":
            raise AccountError("Ce compte a déjà été traité.", code="already_decided")
        return dict(row)

    def validate(self, viewer: dict[str, Any] | None, account_id: int) -> dict[str, Any]:
        """Validate a pending account (callbacks run, the recruiter is e-mailed); the updated row."""
        now = self.clock.now()
        with write_tx(self.store) as conn:
            account = self._pending_for(conn, viewer, account_id)
            self._validate(conn, account, str(viewer["email"]), now, notify=True)  # type: ignore[index]
            return self._row(conn, account_id)

    def refuse(self, viewer: dict[str, Any] | None, account_id: int, reason: str) -> dict[str, Any]:
        """Refuse a pending account with a reason (its sessions end, the recruiter is e-mailed); the row."""
        reason = " ".join((reason or "").split())[:1000]
        if not reason:
            raise AccountError("Indiquez le motif du refus : il est envoyé au recruteur.", "reason")
        now = self.clock.now()
        with write_tx(self.store) as conn:
            account = self._pending_for(conn, viewer, account_id)
            conn.execute(sa.update(recruiter_accounts).where(recruiter_accounts.c.id == account_id).values(
                status="refused", status_reason=reason, validated_by=str(viewer["email"]),  # type: ignore[index]
                session_version=recruiter_accounts.c.session_version + 1, updated_at=now))
            rendered = self.templates.render("recruiter/refused", {
                "first_name": account["first_name"], "company_name": account["company_name"],
                "reason": reason, "siret": account["siret"]})
            enqueue(conn, kind="recruiter.refused", to=account["email"], rendered=rendered,
                    ref=("recruiter_account", str(account_id)), now=now)
            return self._row(conn, account_id)

    def grant_admin(self, email: str, opco: str = "") -> dict[str, Any]:
        """Make `email` a validator (all pending accounts, or only `opco`'s); creates its account when needed.

        Only the CLI calls this: no form grants the role.
        """
        email = email.strip().lower()
        if "@" not in email:
            raise AccountError("Adresse e-mail invalide.", "email")
        now = self.clock.now()
        with write_tx(self.store) as conn:
            account = self._by_email(conn, email)
            if account is None:
                account_id = conn.execute(sa.insert(recruiter_accounts).values(
                    kind="opco" if opco else "admin", email=email, siret="", opco=opco, status="validated",
                    is_admin=True, validated_at=now, validated_by="lba recruiters grant-admin",
                    email_confirmed_at=None, session_version=1, created_at=now, updated_at=now)
                    .returning(recruiter_accounts.c.id)).scalar_one()
                return self._row(conn, account_id)
            if opco and account["kind"] != "opco":
                # A company account's `opco` column is its own OPCO: an OPCO validator needs its own address.
                raise AccountError("Cette adresse a déjà un compte d'entreprise ou de CFA : un valideur d'OPCO "
                                   "utilise une adresse à lui.", "email")
            values: dict[str, Any] = {"is_admin": True, "updated_at": now}
            if opco:
                values["opco"] = opco
            conn.execute(sa.update(recruiter_accounts).where(recruiter_accounts.c.id == account["id"]).values(**values))
            return self._row(conn, account["id"])

    def revoke_admin(self, email: str) -> bool:
        """Take the validator role back from `email`; whether it had it."""
        with write_tx(self.store) as conn:
            done = conn.execute(sa.update(recruiter_accounts).where(
                recruiter_accounts.c.email == email.strip().lower(), recruiter_accounts.c.is_admin.is_(True))
                .values(is_admin=False, session_version=recruiter_accounts.c.session_version + 1,
                        updated_at=self.clock.now())).rowcount
        return bool(done)
