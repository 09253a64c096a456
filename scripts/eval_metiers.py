"""Measure free-text job resolution on a judged CSV (kind, query, accepted_parent_codes): top-1/top-5 per kind."""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from app.config import Settings
from app.metiers import MetierIndex, build_metier_index
from app.referentials import get_referentials

DEFAULT_CSV = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "metiers_dev.csv"


def read_judgements(path: Path) -> list[tuple[str, str, set[str]]]:
    """(kind, query, accepted parent codes) rows of a judged file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["kind"].strip(), row["query"], {c.strip().upper() for c in row["accepted_parent_codes"].split("|")
                                                       if c.strip()})
                for row in csv.DictReader(handle)]


def evaluate(index: MetierIndex, rows: list[tuple[str, str, set[str]]]) -> dict:
    """Top-1 and top-5 accuracy on parent codes per kind, and every row missing from the top 1."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"rows": 0, "top1": 0, "top5": 0})
    misses = []
    for kind, query, accepted in rows:
        parents = list(dict.fromkeys(m.parent for m in index.resolve(query, limit=10)))
        stats = counts[kind]
        stats["rows"] += 1
        stats["top1"] += bool(parents[:1] and parents[0] in accepted)
        stats["top5"] += bool(accepted & set(parents[:5]))
        if not (parents[:1] and parents[0] in accepted):
            misses.append({"kind": kind, "query": query, "accepted": sorted(accepted), "got": parents[:5],
                           "in_top5": bool(accepted & set(parents[:5]))})
    summary = {kind: {**c, "top1_pct": round(100 * c["top1"] / c["rows"], 1),
                      "top5_pct": round(100 * c["top5"] / c["rows"], 1)} for kind, c in sorted(counts.items())}
    return {"summary": summary, "misses": misses}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV, help="judged file (default: %(default)s)")
    parser.add_argument("--lexical-only", action="store_true", help="evaluate without the embedding model")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.lexical_only:
        settings = Settings(**{**settings.__dict__, "embedding_model": "none"})
    started = time.perf_counter()
    index = build_metier_index(settings, get_referentials(settings.data_dir))
    print(f"index: {len(index.entries)} entries, semantic={'on' if index.semantic else 'off'}, "
          f"built in {time.perf_counter() - started:.1f} s")
    result = evaluate(index, read_judgements(args.csv))
    for kind, stats in result["summary"].items():
        print(f"{kind:>6}: {stats['rows']:3d} rows  top-1 {stats['top1_pct']:5.1f} %  top-5 {stats['top5_pct']:5.1f} %")
    for miss in result["misses"]:
        mark = "top-5" if miss["in_top5"] else "MISS "
        print(f"  {mark} [{miss['kind']}] {miss['query']!r}: expected {'|'.join(miss['accepted'])}, "
              f"got {', '.join(miss['got']) or '-'}")
    print(json.dumps(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
