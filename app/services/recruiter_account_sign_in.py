"""Signing recruiters in by e-mailed magic link: rate-limited requests, short-lived single-use links."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.services.outbox import enqueue
from app.services.recruiter_account_base import COMPANY_KINDS
from app.services.recruiter_account_errors import LinkError
from app.services.recruiter_account_validation import AccountValidation
from app.services.tokens import TokenExpired, TokenInvalid
from app.store import outbox, recruiter_accounts, write_tx

log = logging.getLogger(__name__)

LOGIN_PURPOSE = "recruiter.login"
#: A magic link is short-lived: it opens a session, so a forwarded or leaked old message must not.
LOGIN_MAX_AGE = timedelta(minutes=30)
LOGIN_PATH = "/espace-pro/connexion/lien"
DASHBOARD_PATH = "/espace-pro/tableau-de-bord"
#: At most this many magic links per address per hour: the sign-in form cannot be used to flood a mailbox.
LINKS_PER_HOUR = 5


class AccountSignIn(AccountValidation):
    """Magic links: the one asked on the sign-in form, its check on the landing page, its single use.

    Using a link confirms the account's e-mail, which may validate it at once (see AccountValidation).
    """

    def request_login(self, email: str) -> bool:
        """Queue a magic link to `email` if an account that may sign in has it; whether one was queued.

        The page says the same either way, so nobody learns which addresses have an account.
        """
        email = email.strip().lower()
        now = self.clock.now()
        with write_tx(self.store) as conn:
            account = self._by_email(conn, email)
            if account is None or account["status"] not in ("pending", "validated"):
                return False
            recent = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(
                outbox.c.kind == "recruiter.login", outbox.c.to_address == email,
                outbox.c.created_at > now - timedelta(hours=1))).scalar_one()
            if recent >= LINKS_PER_HOUR:
                log.warning("recruiter account %s: magic-link requests over the hourly limit", account["id"])
                return False
            self._queue_login(conn, account, now)
        return True

    def login_url(self, account: dict[str, Any], now: datetime) -> str:
        """A signed single-use link signing `account` in, stamped with `now` (the service's clock)."""
        token = self.tokens.issue(LOGIN_PURPOSE, {"account": int(account["id"]), "email": account["email"],
                                                  "iat": now.timestamp()})
        return f"{self.settings.public_base_url.rstrip('/')}{LOGIN_PATH}?token={token}"

    def _queue_login(self, conn: Connection, account: dict[str, Any], now: datetime) -> None:
        rendered = self.templates.render("recruiter/login", {
            "first_name": account["first_name"] or "", "company_name": account["company_name"] or "",
            "url": self.login_url(account, now), "minutes": int(LOGIN_MAX_AGE.total_seconds() // 60)})
        enqueue(conn, kind="recruiter.login", to=account["email"], rendered=rendered,
                ref=("recruiter_account", str(account["id"])), now=now)

    def check_login_link(self, token: str) -> dict[str, Any]:
        """The account a magic link names, without using it up (the landing page shows a button first)."""
        return self._read_link(token)[1]

    def _read_link(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            payload = self.tokens.read(LOGIN_PURPOSE, token)
        except TokenExpired:
            raise LinkError(_EXPIRED, code="expired") from None
        except TokenInvalid:
            raise LinkError(_INVALID, code="invalid") from None
        issued = payload.get("iat")
        if not isinstance(issued, (int, float)) or not isinstance(payload.get("account"), int):
            raise LinkError(_INVALID, code="invalid")
        # Age measured on the service's clock (not the machine's), so tests and replays control it.
        if self.clock.now() - datetime.fromtimestamp(issued, timezone.utc) > LOGIN_MAX_AGE:
            raise LinkError(_EXPIRED, code="expired")
        with self.store.connect() as conn:
            account = self._row(conn, payload["account"])
        if account is None or account["email"] != payload.get("email"):
            raise LinkError(_INVALID, code="invalid")
        if account["status"] not in ("pending", "validated"):
            raise LinkError("Ce compte n'est pas actif : il a été refusé ou désactivé.", code="inactive")
        return payload, account

    def confirm_login(self, token: str) -> dict[str, Any]:
        """Use a magic link: confirm the e-mail, validate the account if its domain is known; the account's row.

        Raises LinkError (invalid, expired, already used, inactive account). The caller opens the session.
        """
        payload, _ = self._read_link(token)
        known = self._known_company_email(self._row_by_id(payload["account"]))
        return self._use_link(token, payload, known)

    def _use_link(self, token: str, payload: dict[str, Any], known: str) -> dict[str, Any]:
        now = self.clock.now()
        with write_tx(self.store) as conn:
            try:
                self.tokens.consume(conn, LOGIN_PURPOSE, token)
            except (TokenInvalid, sa.exc.IntegrityError) as exc:
                # TokenUsed (the only failure left after _read_link), or two clicks at once on PostgreSQL
                # where the other transaction recorded the token first (unique digest).
                raise LinkError("Ce lien a déjà servi : demandez un nouveau lien de connexion.", code="used") from exc
            account = self._row(conn, payload["account"])
            changes: dict[str, Any] = {"last_login_at": now, "updated_at": now}
            if account["email_confirmed_at"] is None:
                changes["email_confirmed_at"] = now
            conn.execute(sa.update(recruiter_accounts).where(recruiter_accounts.c.id == account["id"])
                         .values(**changes))
            account = self._row(conn, account["id"])
            if account["status"] == "pending" and account["kind"] in COMPANY_KINDS \
                    and self._domain_is_known(conn, account, known):
                self._validate(conn, account, "validation automatique (domaine de l'e-mail)", now, notify=False)
                account = self._row(conn, account["id"])
        return account


_INVALID = ("Ce lien de connexion n'est pas valide : copiez l'adresse complète reçue par e-mail, "
            "ou demandez un nouveau lien.")
_EXPIRED = "Ce lien de connexion a expiré (il est valable 30 minutes) : demandez un nouveau lien."
