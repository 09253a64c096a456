"""Public pages benchmark: job-in-a-city pages, /statistiques and /conseils through HTTP against gunicorn, p50/p95.

Builds (or reuses) the demo data of `--scale` and its indexes the way `make run` does, starts
`lba serve` (gunicorn, preloaded app) on a fresh store, then requests, one after the other over a
keep-alive connection (so each figure is the server time of one page, HTML included):

- /metier/<job>/<city> pages drawn over the whole space of job families × listed cities: four in
  five the way visitors arrive (families weighted by their hirings, cities by population), one in
  five uniformly (what a crawler walking the sitemap asks, no-result pages included);
- /statistiques (with the breakdown of the demo indexing's runs, copied from the store `lba index demo`
  recorded them in) and every /conseils page, in the same stream.

Prints one JSON object last: p50/p95/p99 overall and per page group (`metier` with results, `metier_no_result`,
`statistics`, `guidance`), statuses, the share of job-in-a-city pages without result nearby.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from app.config import Settings  # noqa: E402
from app.referentials import Referentials, get_referentials  # noqa: E402
from app.services.guidance import MODULES  # noqa: E402
from app.services.seo_pages import SeoCatalogue  # noqa: E402
from app.store import upgraded_store  # noqa: E402
from scripts.bench_engine import percentile  # noqa: E402
from scripts.bench_load import wait_ready  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: Text every job-in-a-city page without result nearby shows (app/web/templates/seo_page.html).
NO_RESULT_MARK = "Aucune formation, offre ou entreprise pour ce métier"


def draw_pages(refs: Referentials, n: int, seed: int, other_share: float = 0.1) -> list[tuple[str, str]]:
    """`n` (group, path) pairs: job-in-a-city pages, and `other_share` of statistics and guidance pages."""
    rng = random.Random(seed)
    catalogue = SeoCatalogue(refs)
    families = list(catalogue.families.values())
    cities = list(catalogue.cities.items())
    hirings: dict[str, int] = {}
    for (rome, _), count in refs.naf.hirings.items():
        parent = rome[:5]
        hirings[parent] = hirings.get(parent, 0) + count
    family_weights = [hirings.get(f.code, 0) + 1 for f in families]
    city_weights = [c.population for _, c in cities]
    others = ["/statistiques", "/conseils", *(f"/conseils/{slug}" for slug in MODULES)]
    out = []
    for _ in range(n):
        if rng.random() < other_share:
            path = rng.choice(others)
            out.append(("statistics" if path == "/statistiques" else "guidance", path))
            continue
        if rng.random() < 0.8:
            family = rng.choices(families, family_weights)[0]
            city_slug = rng.choices(cities, city_weights)[0][0]
        else:
            family, (city_slug, _) = rng.choice(families), rng.choice(cities)
        out.append(("metier", f"/metier/{family.slug}/{city_slug}"))
    return out


def copy_index_runs(source_url: str, target_url: str) -> int:
    """Copy the latest successful run of each index job (the statistics read their breakdown) into the bench's
    fresh store, so /statistiques is timed with its regions chart; returns how many runs were copied."""
    from app.services.statistics import BREAKDOWN_JOBS
    from app.store import get_store, job_runs
    from app.store.migrate import is_current
    from indexers.runs import last_success

    source = get_store(source_url)
    if not is_current(source):
        return 0
    rows = [run for run in (last_success(source, job) for job in BREAKDOWN_JOBS.values()) if run]
    with get_store(target_url).begin() as conn:
        for row in rows:
            conn.execute(job_runs.insert().values({k: v for k, v in row.items() if k != "id"}))
    return sum(1 for row in rows if "breakdown" in (row.get("details") or {}))


def summary(latencies: list[float]) -> dict[str, float]:
    return {"count": len(latencies), "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1), "p99_ms": round(percentile(latencies, 99), 1),
            "max_ms": round(max(latencies), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["small", "national"], default=os.environ.get("DEMO_SCALE", "national"))
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    from scripts.cli import ensure_demo, index_demo_files

    settings = Settings.from_env()
    index_demo_files(settings, ensure_demo(settings, args.scale), if_changed=True)
    refs = get_referentials(settings.data_dir)
    pages = draw_pages(refs, args.pages, args.seed)
    work = Path(tempfile.mkdtemp(prefix="lba-bench-seo-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'store.sqlite'}",
           "LBA_RATELIMIT_PATH": str(work / "ratelimit.sqlite"), "PORT": str(args.port),
           "WEB_CONCURRENCY": str(args.workers), "GUNICORN_ACCESSLOG": "off", "DEMO_SCALE": args.scale}
    upgraded_store(env["DATABASE_URL"])  # `lba serve` refuses a store that is not migrated
    copied = copy_index_runs(settings.database_url, env["DATABASE_URL"])
    server = subprocess.Popen([str(Path(sys.executable).parent / "lba"), "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"),
                              start_new_session=True)
    base = f"http://127.0.0.1:{args.port}"
    latencies: dict[str, list[float]] = {}
    statuses: dict[int, int] = {}
    empty = 0
    try:
        wait_ready(f"{base}/healthz", timeout_s=300, process=server)
        with requests.Session() as session:
            # Warm-up, not counted: template compilation and each worker's first statistics computation.
            for _, path in draw_pages(refs, 60, args.seed + 1) + [("", "/statistiques")] * 4:
                session.get(base + path, timeout=30)
            for group, path in pages:
                started = time.perf_counter()
                response = session.get(base + path, timeout=30)
                elapsed = (time.perf_counter() - started) * 1000
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if group == "metier" and NO_RESULT_MARK in response.text:
                    group = "metier_no_result"  # the pages that also look for the nearest city with results
                    empty += 1
                latencies.setdefault(group, []).append(elapsed)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    every = [ms for values in latencies.values() for ms in values]
    print(json.dumps({
        "scale": args.scale, "pages": len(every), "workers": args.workers, **summary(every),
        "groups": {group: summary(values) for group, values in sorted(latencies.items())},
        "metier_without_result_share": round(empty / max(1, sum(len(latencies.get(g, []))
                                                                for g in ("metier", "metier_no_result"))), 3),
        "statuses": statuses, "index_runs_with_breakdown": copied,
    }))


if __name__ == "__main__":
    main()
