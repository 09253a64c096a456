"""Results-page benchmark: 1,000 searches through HTTP against gunicorn, p50/p95 of the server-rendered page.

Builds (or reuses) the demo data of `--scale` and its indexes the way `make run` does, starts
`lba serve` (gunicorn, preloaded app), then plays searches as the site's form sends them
(population-weighted communes chosen in the autocomplete, 1–2 hiring-weighted ROME codes, the
form's radii, a kind filter one time in five, pages 1–3) one after the other over a keep-alive
connection, so each figure is the latency of one page, HTML included. Prints one JSON object last.
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
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from app.config import Settings  # noqa: E402
from app.referentials import Referentials, get_referentials  # noqa: E402
from app.store import upgraded_store  # noqa: E402
from app.web.forms import RADII  # noqa: E402
from scripts.bench_engine import percentile  # noqa: E402
from scripts.bench_load import wait_ready  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KIND_FILTERS = (["offers"], ["companies"], ["formations"], ["offers", "companies"])


def draw_searches(refs: Referentials, n: int, seed: int) -> list[str]:
    """`n` results-page paths, drawn like the form's traffic."""
    rng = random.Random(seed)
    communes = [c for c in refs.communes if c.population > 0 and c.kind == "commune-actuelle"]
    weights = [c.population for c in communes]
    hirings: dict[str, int] = {}
    for (rome, _), count in refs.naf.hirings.items():
        hirings[rome] = hirings.get(rome, 0) + count
    codes = sorted(code for code in hirings if code in refs.rome)
    code_weights = [hirings[c] for c in codes]
    paths = []
    for _ in range(n):
        commune = rng.choices(communes, weights)[0]
        romes = list(dict.fromkeys(rng.choices(codes, code_weights, k=rng.randint(1, 2))))
        params: list[tuple[str, object]] = [
            ("metier", refs.rome.codes[romes[0]].label), ("romes", ",".join(romes)),
            ("lieu", f"{commune.name} ({commune.department})"), ("insee", commune.insee),
            ("radius", rng.choice(RADII))]
        if rng.random() < 0.2:
            params += [("kinds", kind) for kind in rng.choice(KIND_FILTERS)]
        page = rng.choice([1, 1, 1, 2, 3])
        if page > 1:
            params.append(("page", page))
        paths.append("/recherche?" + urlencode(params))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["small", "national"], default=os.environ.get("DEMO_SCALE", "national"))
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--with-api", action="store_true",
                        help="also time /api/v1/match on the same searches (the page minus its HTML)")
    args = parser.parse_args()

    from scripts.cli import ensure_demo, index_demo_files

    settings = Settings.from_env()
    index_demo_files(settings, ensure_demo(settings, args.scale), if_changed=True)
    refs = get_referentials(settings.data_dir)
    paths = draw_searches(refs, args.queries, seed=7)
    work = Path(tempfile.mkdtemp(prefix="lba-bench-pages-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'store.sqlite'}",
           "LBA_RATELIMIT_PATH": str(work / "ratelimit.sqlite"), "PORT": str(args.port),
           "WEB_CONCURRENCY": str(args.workers), "GUNICORN_ACCESSLOG": "off", "DEMO_SCALE": args.scale}
    upgraded_store(env["DATABASE_URL"])  # `lba serve` refuses a store that is not migrated
    server = subprocess.Popen([str(Path(sys.executable).parent / "lba"), "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"),
                              start_new_session=True)
    base = f"http://127.0.0.1:{args.port}"
    latencies: list[float] = []
    api_latencies: list[float] = []
    statuses: dict[int, int] = {}
    api_statuses: dict[int, int] = {}
    sizes: list[int] = []
    try:
        wait_ready(f"{base}/healthz", timeout_s=300, process=server)
        with requests.Session() as session:
            for path in paths[:50]:  # warm-up: page cache, template compilation; not counted
                session.get(base + path, timeout=10)
            for path in paths:
                started = time.perf_counter()
                response = session.get(base + path, timeout=10)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                sizes.append(len(response.content))
                if args.with_api:
                    started = time.perf_counter()
                    answer = session.get(base + api_path(path), timeout=10)
                    api_latencies.append((time.perf_counter() - started) * 1000)
                    api_statuses[answer.status_code] = api_statuses.get(answer.status_code, 0) + 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(json.dumps({
        "scale": args.scale, "queries": len(latencies), "workers": args.workers,
        "p50_ms": round(percentile(latencies, 50), 1), "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1), "max_ms": round(max(latencies), 1),
        "statuses": statuses, "median_html_kb": round(sorted(sizes)[len(sizes) // 2] / 1024, 1),
        **({"api_p50_ms": round(percentile(api_latencies, 50), 1),
            "api_p95_ms": round(percentile(api_latencies, 95), 1), "api_statuses": api_statuses}
           if api_latencies else {}),
    }))


def api_path(page_path: str) -> str:
    """The /api/v1/match request behind a results page (same codes, place, radius, kinds and page)."""
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(page_path).query)
    params = [("romes", query["romes"][0]), ("insee", query["insee"][0]), ("radius", query["radius"][0]),
              ("page", query.get("page", ["1"])[0])]
    if "kinds" in query:
        params.append(("kinds", ",".join(query["kinds"])))
    return "/api/v1/match?" + urlencode(params)


if __name__ == "__main__":
    main()
