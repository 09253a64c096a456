"""In-process latency of job autocomplete, job resolution (with query embedding) and place autocomplete."""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from app.config import Settings
from app.metiers import build_metier_index
from app.referentials import get_referentials
from app.services.communes import CommuneSearch

DEV_QUERIES = Path(__file__).resolve().parent.parent / "tests" / "metiers" / "dev_queries.csv"


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1:]


def job_queries(rome, count: int, rng: random.Random) -> list[str]:
    """Distinct, realistic inputs: typed starts of titles, whole titles, typos, and the dev queries."""
    with DEV_QUERIES.open(encoding="utf-8") as handle:
        queries = [row["query"] for row in csv.DictReader(handle)]
    labels = [a.label.split(" / ")[0] for a in rome.appellations.values()]
    while len(queries) < count:
        label = rng.choice(labels)
        kind = rng.random()
        if kind < 0.4:
            queries.append(label[: rng.randint(3, max(3, min(len(label), 12)))])
        elif kind < 0.7:
            queries.append(label)
        else:
            queries.append(" ".join(_typo(w, rng) for w in label.split()[:3]))
    return queries[:count]


def place_queries(communes, count: int, rng: random.Random) -> list[str]:
    """Typed starts of names, whole names with "st", postal codes (full and started), arrondissements."""
    items = sorted(communes, key=lambda c: -c.population)[:5000]
    out = ["st etienne", "69003", "paris 3e", "lyon 7", "marseille 13", "750", "2A004", "marseile", "bordeau"]
    while len(out) < count:
        c = rng.choice(items)
        kind = rng.random()
        if kind < 0.4:
            out.append(c.name[: rng.randint(3, max(3, len(c.name)))])
        elif kind < 0.6:
            out.append(c.name.replace("Saint-", "st ").lower())
        elif kind < 0.8 and c.postcodes:
            out.append(c.postcodes[0][: rng.choice([2, 3, 5, 5])])
        else:
            out.append(_typo(c.name, rng))
    return out[:count]


def measure(function: Callable[[str], object], queries: list[str]) -> dict[str, float]:
    """Wall-clock p50/p95/p99/max in ms over one call per query, after a short warm-up; plus the p95 of
    the CPU time the process itself spent, which other jobs on a shared machine cannot inflate."""
    for query in queries[:20]:
        function(query)
    wall, cpu = [], []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.process_time()
        function(query)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    wall.sort()
    cpu.sort()

    def pct(values: list[float], p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))], 2)

    return {"queries": len(wall), "p50_ms": pct(wall, 0.50), "p95_ms": pct(wall, 0.95), "p99_ms": pct(wall, 0.99),
            "max_ms": round(wall[-1], 2), "cpu_p50_ms": pct(cpu, 0.50), "cpu_p95_ms": pct(cpu, 0.95)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=1000, help="distinct queries per endpoint")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    refs = get_referentials(settings.data_dir)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    index = build_metier_index(settings, refs)
    build_s = time.perf_counter() - started
    places = CommuneSearch(refs.communes)
    jobs = job_queries(refs.rome, args.queries, rng)
    result = {
        "semantic": index.semantic, "model": index.embedder.name if index.semantic else "none",
        "index_entries": len(index.entries),
        "index_build_s": round(build_s, 1),
        # resolve first: its queries are new to the word cache, as in production.
        "resolve": measure(index.resolve, jobs),
        "metiers": measure(index.suggest, job_queries(refs.rome, args.queries, random.Random(args.seed + 1))),
        "communes": measure(places.search, place_queries(refs.communes, args.queries, rng)),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        # Other jobs on the machine stretch wall-clock times: the load average says how much.
        "load_average_1m": round(os.getloadavg()[0], 2), "cores": os.cpu_count(),
    }
    for name in ("metiers", "resolve", "communes"):
        r = result[name]
        print(f"{name:>9}: {r['queries']} queries  p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  "
              f"p99 {r['p99_ms']} ms  max {r['max_ms']} ms  (CPU p95 {r['cpu_p95_ms']} ms)")
    print(f"load average {result['load_average_1m']} on {result['cores']} cores")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
