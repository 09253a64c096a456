"""`lba offers export` (the multi-diffusion files, also the scheduled `exports` job) and `lba partners list`."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import click


@click.group("offers")
def offers_group() -> None:
    """Deposited and partner offers."""


@offers_group.command("export")
def offers_export() -> None:
    """Write the v3 JSON feed, its schema and France Travail's file to LBA_EXPORT_DIR, as the daily job does."""
    from indexers.pipeline import EXIT_CODES, run_job

    result = run_job("exports")
    click.echo(json.dumps({"outcome": result.outcome, "offers": result.indexed, "error": result.error},
                          ensure_ascii=False))
    raise SystemExit(EXIT_CODES.get(result.outcome, 1))


@click.group("partners")
def partners_group() -> None:
    """Partners of the write API (one per API key)."""


@partners_group.command("list")
def partners_list() -> None:
    """Each partner key with its active and total offers pushed through POST /api/v3/jobs."""
    from app.config import Settings
    from app.services.partner_jobs import partner_counts
    from app.services.partners import list_keys
    from scripts.store_cli import open_store

    store = open_store(Settings.from_env())
    counts = partner_counts(store, datetime.now(timezone.utc))
    for row in list_keys(store):
        mine = counts.get(row["id"], {"active": 0, "total": 0})
        state = "revoked" if row["revoked_at"] else "active"
        click.echo(f"{row['id']:>4}  {row['name']:<30} {state:<8} offers: {mine['active']} active / "
                   f"{mine['total']} total")
