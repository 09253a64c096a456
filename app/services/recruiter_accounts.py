"""Recruiter accounts: sign-up by SIRET, sign-in by e-mailed magic link, validation by e-mail domain or by a validator.

Rules (la-bonne-alternance.md §5):
* a company account names one establishment by SIRET; the company-search API gives its data;
  closed establishments and education-sector ones (NAF 85: they sign up as CFAs) are refused;
* one account per e-mail address (lower-cased);
* an account is validated at once when its e-mail is confirmed (by following a magic link) and the
  address's domain — a private one, not a public mailbox — is one already known for the company:
  the domain of a validated account of the same SIREN, or of the company's contact address in the
  recruiters index; otherwise it stays pending until an administrator or the company's OPCO decides;
* validating runs the `on_validated` callbacks inside the validation transaction (the offers side
  activates the account's pending offers and e-mails the chosen CFAs there), so either all of it
  happens or none.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.clock import Clock
from app.config import Settings
from app.services.company_search import Company, CompanySearch, eligible
from app.services.mailer import MailTemplates
from app.services.opt_out import webmail_domains
from app.services.outbox import enqueue
from app.services.siret import check_siret
from app.services.tokens import TokenExpired, TokenInvalid, Tokens
from app.store import cfa_partner_companies, outbox, recruiter_accounts, write_tx

log = logging.getLogger(__name__)

LOGIN_PURPOSE = "recruiter.login"
#: A magic link is short-lived: it opens a session, so a forwarded or leaked old message must not.
LOGIN_MAX_AGE = timedelta(minutes=30)
LOGIN_PATH = "/espace-pro/connexion/lien"
DASHBOARD_PATH = "/espace-pro/tableau-de-bord"
COMPANY_KINDS = ("entreprise", "cfa")
#: At most this many magic links per address per hour: the sign-in form cannot be used to flood a mailbox.
LINKS_PER_HOUR = 5
#: Called in the validation transaction with (connection, the validated account's row, now).
OnValidated = Callable[[Connection, dict, datetime], None]


class AccountError(Exception):
    """A refused request, with the French sentence to show and the form field it belongs to."""

    def __init__(self, message: str, field: str = "", code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class LinkError(AccountError):
    """A magic link that cannot sign anyone in (tampered, expired, used)."""


class NotAllowed(AccountError):
    """The signed-in account may not do this (not a validator, or not for this OPCO)."""


@dataclass(frozen=True)
class SignUp:
    """What a recruiter typed to open an account."""

    kind: str
    siret: str
    email: str
    first_name: str
    last_name: str
    phone: str


def domain_of(email: str) -> str:
    """The lower-cased domain of an address ('' without one)."""
    return email.rsplit("@", 1)[1].strip().lower() if "@" in email else ""


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite gives back naive UTC datetimes
        return moment.replace(tzinfo=timezone.utc)
    return moment


class AccountService:
    """Accounts of companies and CFAs, and their validators; every e-mail goes through the outbox."""

    def __init__(self, store: Engine, clock: Clock, settings: Settings, companies: CompanySearch,
                 tokens: Tokens | None = None, templates: MailTemplates | None = None,
                 on_validated: list[OnValidated] | None = None, engine: Any = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.companies = companies
        self.tokens = tokens or Tokens(settings.secret_key, settings.link_max_age_days * 86400)
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
                created_at=now, updated_at=now, **_company_columns(company))
                .returning(recruiter_accounts.c.id)).scalar_one()
            account = self._row(conn, account_id)
            self._queue_login(conn, account, now)
        log.info("recruiter account %s created (%s)", account_id, data.kind)
        return account

    # -- sign-in ---------------------------------------------------------------------------------------------
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

    # -- CFA partner companies -------------------------------------------------------------------------------
    def add_partner_company(self, cfa: dict[str, Any], siret_text: str, email: str = "",
                            phone: str = "") -> dict[str, Any]:
        """Record a company a CFA account publishes for, its SIRET checked like a company account's."""
        if cfa["kind"] != "cfa":
            raise NotAllowed("Seul un compte CFA gère des entreprises partenaires.", code="forbidden")
        company = self.company(siret_text, "entreprise")
        now = self.clock.now()
        with write_tx(self.store) as conn:
            row = conn.execute(sa.select(cfa_partner_companies).where(
                cfa_partner_companies.c.cfa_account_id == cfa["id"],
                cfa_partner_companies.c.siret == company.siret)).mappings().first()
            if row is not None:
                return dict(row)
            partner_id = conn.execute(sa.insert(cfa_partner_companies).values(
                cfa_account_id=cfa["id"], email=email.strip().lower(), phone=phone.strip(), created_at=now,
                **_company_columns(company)).returning(cfa_partner_companies.c.id)).scalar_one()
            return dict(conn.execute(sa.select(cfa_partner_companies)
                                     .where(cfa_partner_companies.c.id == partner_id)).mappings().one())

    def partner_companies(self, cfa: dict[str, Any]) -> list[dict[str, Any]]:
        """The partner companies of a CFA account, by name."""
        with self.store.connect() as conn:
            rows = conn.execute(sa.select(cfa_partner_companies).where(
                cfa_partner_companies.c.cfa_account_id == cfa["id"])
                .order_by(cfa_partner_companies.c.company_name)).mappings().all()
        return [dict(row) for row in rows]

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


_INVALID = ("Ce lien de connexion n'est pas valide : copiez l'adresse complète reçue par e-mail, "
            "ou demandez un nouveau lien.")
_EXPIRED = "Ce lien de connexion a expiré (il est valable 30 minutes) : demandez un nouveau lien."


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("email_confirmed_at", "validated_at", "last_login_at", "created_at", "updated_at"):
        row[name] = _aware(row.get(name))
    return row


def _company_columns(company: Company) -> dict[str, Any]:
    return {"siret": company.siret, "company_name": company.name[:300], "address": company.address[:300],
            "postcode": company.postcode[:10], "city": company.city[:200], "insee": company.insee[:5],
            "latitude": company.latitude, "longitude": company.longitude, "naf": company.naf[:6],
            "naf_label": company.naf_label[:300], "size": company.size[:50], "opco": company.opco[:100]}


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
