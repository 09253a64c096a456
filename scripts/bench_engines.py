"""Benchmark both engines in one run on the national demo data: build throughput and query latency.

For each engine (embedded, then OpenSearch on a node this script starts from the Maven artifacts
unless --opensearch-url names one), builds the three indexes from the demo files through the real
indexers, then runs the same 1,000 queries (drawn as scripts/bench_engine.py draws them: places
weighted by population, ROME codes by national hirings, radius 10/30/60/100 km, first page of 20)
through `search` and through `rank` (what the match service calls), and prints one JSON line per
engine.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import ROOT, Settings  # noqa: E402
from app.referentials import Referentials, get_referentials  # noqa: E402
from app.search.contract import MatchQuery, SearchEngine  # noqa: E402
from app.search.elastic import ConnectionConfig, ElasticEngine  # noqa: E402
from app.search.embedded import EmbeddedEngine  # noqa: E402
from ranking import RankingContext  # noqa: E402
from ranking.linear import linear_spec  # noqa: E402
from scripts import opensearch_node  # noqa: E402
from scripts.bench_engine import draw_queries, percentile  # noqa: E402

WORK_DIR = ROOT / "var" / "bench"
RANK_LIMIT = 60  # what the match service asks for page 1 of 20 (page + quotas + margin)


def measure(engine: SearchEngine, refs: Referentials, demo_dir: Path, queries: list[MatchQuery]) -> dict[str, Any]:
    """Build the three indexes, then time every query through `search` and `rank`."""
    from scripts.demo_index import index_demo

    started = time.perf_counter()
    index_demo(engine, refs, demo_dir)
    build_s = time.perf_counter() - started
    documents = sum(s["documents"] for s in engine.stats().values())

    today = date.today()
    specs_by_query = []
    for query in queries:
        ctx = RankingContext(radius_km=query.radius_km, today=today, sort="relevance")
        specs_by_query.append({kind: linear_spec(kind, True, ctx) for kind in query.kinds})
    for query, specs in list(zip(queries, specs_by_query))[:50]:  # warm caches, JIT and compiled scripts
        engine.search(query)
        engine.rank(query, specs, "relevance", RANK_LIMIT)
    search_ms, rank_ms, candidates = [], [], 0
    for query in queries:
        t0 = time.perf_counter()
        result = engine.search(query)
        search_ms.append((time.perf_counter() - t0) * 1000)
        candidates += result.total
    for query, specs in zip(queries, specs_by_query):
        t0 = time.perf_counter()
        engine.rank(query, specs, "relevance", RANK_LIMIT)
        rank_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "documents": documents,
        "build_s": round(build_s, 1),
        "build_docs_per_s": round(documents / build_s),
        "queries": len(queries),
        "search_p50_ms": round(statistics.median(search_ms), 2),
        "search_p95_ms": round(percentile(search_ms, 95), 2),
        "rank_p50_ms": round(statistics.median(rank_ms), 2),
        "rank_p95_ms": round(percentile(rank_ms, 95), 2),
        "mean_candidates": round(candidates / len(queries), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", default="national", choices=["small", "national"])
    parser.add_argument("--opensearch-url", default="", help="use this node instead of starting one")
    parser.add_argument("--heap", default="1g", help="heap of the OpenSearch node this script starts")
    args = parser.parse_args()

    from scripts.cli import ensure_demo

    settings = Settings.from_env()
    refs = get_referentials(settings.data_dir)
    demo_dir = ensure_demo(settings, args.scale)
    queries = draw_queries(refs, args.queries, args.seed)
    shutil.rmtree(WORK_DIR, ignore_errors=True)

    embedded = EmbeddedEngine(WORK_DIR / "embedded")
    print(json.dumps({"engine": "embedded", **measure(embedded, refs, demo_dir, queries)}), flush=True)
    embedded.close()

    node = None
    url = args.opensearch_url
    if not url:
        node = opensearch_node.start(WORK_DIR / "opensearch", http_port=opensearch_node.free_port(), heap=args.heap)
        url = node.url
    elastic = ElasticEngine(ConnectionConfig("opensearch", url), prefix="bench")
    try:
        line = measure(elastic, refs, demo_dir, queries)
        version = elastic._call("GET", "/")["version"]["number"]
        print(json.dumps({"engine": f"opensearch {version}", "heap": args.heap if node else None, **line}),
              flush=True)
    finally:
        elastic._call("DELETE", "/bench-*", params={"allow_no_indices": "true", "ignore_unavailable": "true"})
        elastic.close()
        if node:
            node.stop()


if __name__ == "__main__":
    main()
