"""Cost of counting one site search (a search and 20 impressions) in the usage counters: buffered or written at once.

    python scripts/bench_usage.py [--searches 2000] [--database-url sqlite:///var/bench_usage.sqlite]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from app.services.usage import UsageCounters
from app.store import upgraded_store

ITEMS = [{"kind": ("offer", "company", "formation")[n % 3]} for n in range(20)]


def per_search_ms(url: str, searches: int, flush_seconds: float) -> float:
    """Mean milliseconds of record_search (flushes included) over `searches` searches."""
    usage = UsageCounters(upgraded_store(url), date.today, flush_seconds=flush_seconds)
    start = time.perf_counter()
    for _ in range(searches):
        usage.record_search("site", ITEMS)
    usage.flush()
    return (time.perf_counter() - start) * 1000 / searches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--searches", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'usage.sqlite'}"
    for label, flush in (("buffered (flush every 10 s)", 10.0), ("direct (flush_seconds=0)", 0.0)):
        print(f"{label:<30} {per_search_ms(url, args.searches, flush):.3f} ms per search ({args.searches} searches)")


if __name__ == "__main__":
    main()
