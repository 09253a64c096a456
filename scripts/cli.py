"""The `lba` command: generate demo data, index it, run a match from the shell, serve the API."""
from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import click

from app.config import ConfigError, Settings
from app.referentials import ReferenceDataError, get_referentials
from app.search import build_engine
from app.search.contract import KINDS, MatchQuery


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _refs(settings: Settings):
    try:
        return get_referentials(settings.data_dir)
    except ReferenceDataError as exc:
        raise click.ClickException(f"reference data: {exc}") from None


def _demo_dir(settings: Settings, scale: str) -> Path:
    return Path(settings.demo_dir) / scale


@click.group()
def main() -> None:
    """Apprenticeship matching service: data, indexes and the API."""


@main.command("demo")
@click.option("--scale", type=click.Choice(["small", "national"]), default=None,
              help="Demo size (default: DEMO_SCALE).")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--force", is_flag=True, help="Regenerate even when the files exist.")
def demo_command(scale: str | None, seed: int, force: bool) -> None:
    """Generate demo source files (France Travail offers, catalogue, predicted recruiters)."""
    settings = _settings()
    ensure_demo(settings, scale or settings.demo_scale, seed, force)


def ensure_demo(settings: Settings, scale: str, seed: int = 42, force: bool = False) -> Path:
    """The demo directory for `scale`, generated unless recent matching files are already there."""
    from scripts.demo_index import MANIFEST, ensure_demo_data

    out = _demo_dir(settings, scale)
    if force:
        (out / MANIFEST).unlink(missing_ok=True)
    started = time.perf_counter()
    ensure_demo_data(_refs(settings), settings.demo_dir, scale, seed, progress=True)
    click.echo(f"demo data ready in {out} ({time.perf_counter() - started:.1f} s)")
    return out


@main.group("index")
def index_group() -> None:
    """Build index generations."""


@index_group.command("demo")
@click.option("--scale", type=click.Choice(["small", "national"]), default=None)
@click.option("--if-changed", is_flag=True, help="Skip when the published indexes already hold these files.")
def index_demo_command(scale: str | None, if_changed: bool) -> None:
    """Index the demo files into new generations and publish them."""
    settings = _settings()
    index_demo_files(settings, _demo_dir(settings, scale or settings.demo_scale), if_changed)


def index_demo_files(settings: Settings, demo_dir: Path, if_changed: bool = False) -> None:
    """Build and publish the three indexes from `demo_dir`; record which files they came from."""
    from scripts.demo_index import index_demo

    manifest = demo_dir / "manifest.json"
    if not manifest.is_file():
        raise click.ClickException(f"no demo data in {demo_dir}: run `lba demo` first")
    marker = Path(settings.index_dir) / "demo-source.json"
    engine = build_engine(settings)
    stats = engine.stats()
    if if_changed and marker.is_file() and _same_source(marker, manifest) and \
            all(stats[k]["documents"] for k in KINDS):
        click.echo("indexes already hold these demo files")
        return
    started = time.perf_counter()
    from app.referentials.regions import get_regions
    from indexers.breakdown import Breakdown

    refs = _refs(settings)
    breakdowns = {kind: Breakdown(get_regions(refs.data_dir)) for kind in KINDS}
    at = datetime.now(timezone.utc)
    results = index_demo(engine, refs, demo_dir, progress=True, breakdowns=breakdowns)
    for kind, result in results.items():
        click.echo(f"{kind}: {result}")
    build_s = round(time.perf_counter() - started, 1)
    _record_demo_runs(settings, demo_dir, at, results, breakdowns)
    Path(settings.index_dir).mkdir(parents=True, exist_ok=True)
    record = {**json.loads(manifest.read_text()), "build_s": build_s,
              "stats": {kind: _stats_dict(result) for kind, result in results.items()}}
    marker.write_text(json.dumps(record, ensure_ascii=False, indent=1))
    click.echo(f"indexed in {build_s:.1f} s")


def _record_demo_runs(settings: Settings, demo_dir: Path, at: datetime, results: dict, breakdowns: dict) -> None:
    """Record the demo indexing as a run of each index job, as the pipeline would have: the public statistics
    read what each kind's latest run published (a store not migrated yet is left alone)."""
    from app.store.engine import engine_for
    from app.store.migrate import is_current
    from indexers.jobs import JOBS
    from indexers.runs import record_finish, record_start

    # The raw engine, not get_store(): that one raises on a store behind its migrations, and a fresh
    # machine's `lba index demo` (before any `lba db upgrade`) must still finish with its index published.
    store = engine_for(settings.database_url)
    if not is_current(store):
        click.echo("store not migrated: the demo indexing is not recorded in its runs (`lba db upgrade`)")
        return
    for name, job in JOBS.items():
        if job.kind in results:
            stats = results[job.kind]
            run_id = record_start(store, name, at)
            record_finish(store, run_id, outcome="success", finished_at=datetime.now(timezone.utc),
                          duration_s=stats.seconds, read=stats.read, indexed=stats.indexed, rejected=stats.rejected,
                          details={"source": str(demo_dir), "demo": True, "documents": stats.indexed,
                                   "breakdown": {"kind": job.kind, "counts": breakdowns[job.kind].as_dict()}})


def _stats_dict(result: object) -> object:
    as_dict = getattr(result, "as_dict", None)
    return as_dict() if callable(as_dict) else str(result)


def _same_source(marker: Path, manifest: Path) -> bool:
    """Whether the indexes were built from the demo files that `manifest` describes."""
    recorded = json.loads(marker.read_text())
    return all(recorded.get(key) == value for key, value in json.loads(manifest.read_text()).items())


@main.command("match")
@click.option("--rome", "romes", multiple=True, required=True, help="ROME code; repeat for several.")
@click.option("--near", default=None, help="Commune name, postal code or INSEE code.")
@click.option("--lat", type=float, default=None)
@click.option("--lon", type=float, default=None)
@click.option("--radius", type=float, default=30.0, show_default=True, help="km")
@click.option("--kinds", default="formation,offer,company", show_default=True)
@click.option("--limit", type=int, default=20, show_default=True)
def match_command(romes: tuple[str, ...], near: str | None, lat: float | None, lon: float | None, radius: float,
                  kinds: str, limit: int) -> None:
    """Print the nearest results for ROME codes around a place, with distances."""
    settings = _settings()
    refs = _refs(settings)
    codes = tuple(code.upper() for code in romes)
    unknown = [code for code in codes if code not in refs.rome]
    if unknown:
        raise click.ClickException(f"unknown ROME code(s): {', '.join(unknown)}")
    if near:
        commune = refs.communes.find(near)
        if commune is None:
            raise click.ClickException(f"no commune matches {near!r}")
        lat, lon = commune.latitude, commune.longitude
        click.echo(f"around {commune.name} ({commune.insee}), {radius:g} km")
    engine = build_engine(settings)
    started = time.perf_counter()
    result = engine.search(MatchQuery(romes=codes, latitude=lat, longitude=lon, radius_km=radius,
                                      kinds=tuple(k.strip() for k in kinds.split(",")), page_size=limit))
    elapsed = (time.perf_counter() - started) * 1000
    docs = {}
    for kind in KINDS:
        docs.update({(kind, i): d for i, d in engine.get_many(kind, [h.id for h in result.hits
                                                                      if h.kind == kind]).items()})
    for hit in result.hits:
        doc = docs.get((hit.kind, hit.id), {})
        place = doc.get("place", {})
        where = " ".join(filter(None, [place.get("postcode"), place.get("city")]))
        dist = "" if hit.distance_km is None else f"{hit.distance_km:7.2f} km"
        name = (doc.get("organisation") or {}).get("name", "")
        click.echo(f"{dist}  {hit.kind:<9} {doc.get('title', hit.id)[:50]:<50} {name[:30]:<30} {where}")
    totals = ", ".join(f"{k}: {v}" for k, v in result.totals.items())
    click.echo(f"{result.total} results ({totals}) in {elapsed:.1f} ms")


@main.group("apikey")
def apikey_group() -> None:
    """Partner API keys (stored hashed; a key is shown once, at creation)."""


@apikey_group.command("create")
@click.argument("name")
@click.option("--rate", type=int, default=None, help="Requests per second allowed (default 50).")
def apikey_create(name: str, rate: int | None) -> None:
    """Create a key for partner NAME and print it once."""
    from app.services.partners import DEFAULT_KEY_RATE, create_key

    try:
        key_id, key = create_key(open_store(_settings()), name, rate or DEFAULT_KEY_RATE)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"key {key_id} for {name}: {key}")
    click.echo("Send it in the X-API-Key header. It is not stored and cannot be shown again.")


@apikey_group.command("revoke")
@click.argument("key_id", type=int)
def apikey_revoke(key_id: int) -> None:
    """Revoke key KEY_ID (effective within 10 seconds on every worker)."""
    from app.services.partners import revoke_key

    if not revoke_key(open_store(_settings()), key_id):
        raise click.ClickException(f"no active key {key_id}")
    click.echo(f"key {key_id} revoked")


@apikey_group.command("list")
def apikey_list() -> None:
    """List keys: id, partner, prefix, rate, state."""
    from app.services.partners import list_keys

    for row in list_keys(open_store(_settings())):
        state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
        click.echo(f"{row['id']:>4}  {row['name']:<30} {row['prefix']}…  {row['rate_per_second']:>5}/s  {state}")


@main.command("serve")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default: WEB_CONCURRENCY or 2×cores).")
def serve_command(workers: int | None) -> None:
    """Serve the API with gunicorn on PORT."""
    settings = _settings()
    args = ["gunicorn", "--config", str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"),
            "--bind", f"0.0.0.0:{settings.port}"]
    if workers:
        args += ["--workers", str(workers)]
    args.append("app.factory:create_app()")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    os.execv(str(gunicorn), [str(gunicorn), *args[1:]])


@main.command("run")
@click.option("--scale", type=click.Choice(["small", "national"]), default=None)
def run_command(scale: str | None) -> None:
    """Migrate the store, generate the demo data if needed, index it if needed, then serve (demo mode: LBA_DEMO=1)."""
    # Demo mode is explicit: `lba run` is the demo, so it says so to every process it starts.
    os.environ["LBA_DEMO"] = "1"
    settings = _settings()
    _refs(settings)
    upgrade_store(settings)  # the one-command start migrates the store; `lba serve` alone refuses a stale one
    demo_dir = ensure_demo(settings, scale or settings.demo_scale)
    index_demo_files(settings, demo_dir, if_changed=True)
    click.get_current_context().invoke(serve_command)


# Scheduled jobs (`lba jobs ...`) and the scheduler process (`lba scheduler`) live in their own module.
from scripts.jobs_cli import jobs_group, scheduler_command  # noqa: E402

# The store's migrations (`lba db ...`) and the mail worker (`lba worker`, `lba outbox ...`).
from scripts.store_cli import db_group, open_store, outbox_group, upgrade_store, worker_command  # noqa: E402

main.add_command(jobs_group)
main.add_command(scheduler_command)
main.add_command(db_group)
main.add_command(worker_command)
main.add_command(outbox_group)
# Callback reminders and the anonymisation job (`lba callbacks remind`, `lba privacy anonymise`).
from scripts.contact_cli import callbacks_group, privacy_group  # noqa: E402

main.add_command(callbacks_group)
main.add_command(privacy_group)
# Deposited offers: reminders and expiry (`lba offers lifecycle`), multi-diffusion files (`lba offers export`),
# per-partner offer counts (`lba partners list`).
from scripts.offers_cli import offers_group, partners_group  # noqa: E402

main.add_command(offers_group)
main.add_command(partners_group)

from scripts.recruiters_cli import recruiters_group  # noqa: E402

main.add_command(recruiters_group)

from scripts.ranking_cli import judge_command, ranking_group  # noqa: E402

main.add_command(ranking_group)
main.add_command(judge_command)


if __name__ == "__main__":
    main()
