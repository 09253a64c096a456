"""The `lba recruiters` commands: grant or take back the validator role (never by a form), list pending accounts."""
from __future__ import annotations

import json
from pathlib import Path

import click

from app.config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def account_service(settings: Settings):  # type: ignore[no-untyped-def]
    """The account service of `settings`, without the web app (no search engine: no automatic validation here)."""
    from app.clock import SYSTEM_CLOCK
    from app.services.company_search import client_from_settings
    from app.services.recruiter_accounts import AccountService
    from scripts.store_cli import open_store

    store = open_store(settings)
    return AccountService(store, SYSTEM_CLOCK, settings, client_from_settings(settings, store, SYSTEM_CLOCK))


def known_opcos(settings: Settings) -> list[str]:
    """The OPCO names of the referential (opco/opcos.csv), the only values --opco accepts."""
    from app.referentials.opco import load_opcos

    if not settings.data_dir:
        return []
    return sorted(opco.name for opco in load_opcos(Path(settings.data_dir)).opcos.values())


@click.group("recruiters")
def recruiters_group() -> None:
    """Recruiter accounts: validators and pending accounts."""


@recruiters_group.command("grant-admin")
@click.argument("email")
@click.option("--opco", default="", help="Only validate the pending accounts of this OPCO (its name, e.g. Opco EP).")
def grant_admin_command(email: str, opco: str) -> None:
    """Make EMAIL a validator of pending accounts (all of them, or only --opco's); creates its account if needed."""
    from app.services.recruiter_accounts import AccountError

    settings = _settings()
    if opco:
        names = known_opcos(settings)
        match = next((name for name in names if name.casefold() == opco.strip().casefold()), None)
        if names and match is None:
            raise click.BadParameter(f"OPCO inconnu {opco!r} ; valeurs possibles : {', '.join(names)}",
                                     param_hint="--opco")
        opco = match or opco.strip()
    try:
        account = account_service(settings).grant_admin(email, opco)
    except AccountError as exc:
        raise click.ClickException(exc.message) from None
    scope = f"pending accounts of {account['opco']}" if account["kind"] == "opco" else "every pending account"
    click.echo(f"{account['email']} is a validator ({scope}); they sign in at /espace-pro/connexion")


@recruiters_group.command("revoke-admin")
@click.argument("email")
def revoke_admin_command(email: str) -> None:
    """Take the validator role back from EMAIL (its open sessions end)."""
    if not account_service(_settings()).revoke_admin(email):
        raise click.ClickException(f"{email} is not a validator")
    click.echo(f"{email} is no longer a validator")


@recruiters_group.command("pending")
def pending_command() -> None:
    """List pending accounts as JSON lines (id, kind, siret, company, e-mail, OPCO, created)."""
    service = account_service(_settings())
    admin = {"is_admin": True, "status": "validated", "kind": "admin", "opco": ""}
    for row in service.pending_accounts(admin):
        click.echo(json.dumps({"id": row["id"], "kind": row["kind"], "siret": row["siret"],
                               "company": row["company_name"], "email": row["email"], "opco": row["opco"],
                               "created_at": row["created_at"].isoformat()}, ensure_ascii=False))
