"""Benchmark the configured engine on the national demo data: build time, index size, query latency.

Builds (or reuses) the national demo index, runs 1,000 queries drawn like real traffic (places
weighted by population, 1–3 ROME codes weighted by national hirings, radius 10/30/60/100 km, all
kinds, first page of 20), and prints one JSON object as its last line.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # noqa: E402
from app.referentials import Referentials, get_referentials  # noqa: E402
from app.search import build_engine  # noqa: E402
from app.search.contract import KINDS, MatchQuery  # noqa: E402
from app.search.embedded import columns_dir  # noqa: E402

RADII_KM = (10, 30, 60, 100)


def draw_queries(refs: Referentials, n: int, seed: int) -> list[MatchQuery]:
    """`n` queries: population-weighted communes, hiring-weighted ROME parent codes."""
    rng = random.Random(seed)
    communes = [c for c in refs.communes if c.population > 0 and c.kind == "commune-actuelle"]
    weights = [c.population for c in communes]
    hirings: dict[str, int] = {}
    for (rome, _), count in refs.naf.hirings.items():
        hirings[rome] = hirings.get(rome, 0) + count
    codes = sorted(hirings)
    code_weights = [hirings[c] for c in codes]
    queries = []
    for _ in range(n):
        commune = rng.choices(communes, weights)[0]
        romes: list[str] = []
        while len(romes) < rng.randint(1, 3):
            code = rng.choices(codes, code_weights)[0]
            if code not in romes:
                romes.append(code)
        queries.append(MatchQuery(romes=tuple(romes), latitude=commune.latitude, longitude=commune.longitude,
                                  radius_km=rng.choice(RADII_KM), page_size=20))
    return queries


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def index_size_mb(index_dir: Path) -> float:
    """Size of the published generation files (what a reader maps), in MiB."""
    total = 0
    for kind in KINDS:
        pointer = index_dir / kind / "CURRENT"
        if pointer.is_file():
            path = index_dir / kind / pointer.read_text().strip()
            total += sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
            # The embedded engine's posting columns live in a folder beside the SQLite file.
            total += sum(p.stat().st_size for p in columns_dir(path).glob("*") if p.is_file())
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the index even if one is published")
    parser.add_argument("--scale", default="national", choices=["small", "national"])
    args = parser.parse_args()

    from scripts.cli import ensure_demo, index_demo_files

    settings = Settings.from_env()
    refs = get_referentials(settings.data_dir)
    demo_dir = ensure_demo(settings, args.scale)
    index_demo_files(settings, demo_dir, if_changed=not args.rebuild)
    marker = json.loads((Path(settings.index_dir) / "demo-source.json").read_text())
    engine = build_engine(settings)
    stats = engine.stats()

    queries = draw_queries(refs, args.queries, args.seed)
    for query in queries[:50]:  # warm the page cache and the statement caches
        engine.search(query)
    timings, hits = [], 0
    for query in queries:
        started = time.perf_counter()
        result = engine.search(query)
        timings.append((time.perf_counter() - started) * 1000)
        hits += result.total
    print(json.dumps({
        "engine": settings.search_engine,
        "queries": len(queries),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 95), 2),
        "p99_ms": round(percentile(timings, 99), 2),
        "max_ms": round(max(timings), 2),
        "mean_candidates": round(hits / len(queries), 1),
        "build_s": marker.get("build_s"),
        "index_mb": round(index_size_mb(Path(settings.index_dir)), 1),
        "documents": sum(s["documents"] for s in stats.values()),
    }))


if __name__ == "__main__":
    main()
