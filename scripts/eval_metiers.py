"""Measure free-text job resolution on judged CSVs (kind, query, accepted_parent_codes): top-1/top-5 per kind,
lexical-only and hybrid side by side, for one or more embedding backends; plus query latency and memory."""
from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.config import Settings
from app.metiers import MetierIndex, build_metier_index
from app.referentials import get_referentials

EVAL_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
DEFAULT_CSVS = [EVAL_DIR / "metiers_dev.csv", EVAL_DIR / "metiers_dev_hard.csv"]


def read_judgements(path: Path) -> list[tuple[str, str, set[str]]]:
    """(kind, query, accepted parent codes) rows of a judged file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["kind"].strip(), row["query"], {c.strip().upper() for c in row["accepted_parent_codes"].split("|")
                                                       if c.strip()})
                for row in csv.DictReader(handle)]


def evaluate(index: MetierIndex, rows: list[tuple[str, str, set[str]]], semantic: bool = True) -> dict:
    """Top-1 and top-5 accuracy on parent codes per kind and overall, and every row missing from the top 1."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"rows": 0, "top1": 0, "top5": 0})
    misses = []
    for kind, query, accepted in rows:
        parents = list(dict.fromkeys(m.parent for m in index.resolve(query, limit=10, semantic=semantic)))
        for stats in (counts[kind], counts["all"]):
            stats["rows"] += 1
            stats["top1"] += bool(parents[:1] and parents[0] in accepted)
            stats["top5"] += bool(accepted & set(parents[:5]))
        if not (parents[:1] and parents[0] in accepted):
            misses.append({"kind": kind, "query": query, "accepted": sorted(accepted), "got": parents[:5],
                           "in_top5": bool(accepted & set(parents[:5]))})
    order = sorted(k for k in counts if k != "all") + ["all"]
    summary = {kind: {**counts[kind], "top1_pct": round(100 * counts[kind]["top1"] / counts[kind]["rows"], 1),
                      "top5_pct": round(100 * counts[kind]["top5"] / counts[kind]["rows"], 1)} for kind in order}
    return {"summary": summary, "misses": misses}


def latency(index: MetierIndex, queries: list[str]) -> dict[str, float]:
    """Résolution p50/p95 (wall and process CPU, ms) over the queries, after one warm-up pass."""
    for query in queries:
        index.resolve(query)
    wall, cpu = [], []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.process_time()
        index.resolve(query)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    wall.sort()
    cpu.sort()
    pct = lambda values, p: round(values[min(len(values) - 1, int(p * len(values)))], 1)  # noqa: E731
    return {"p50_ms": pct(wall, 0.5), "p95_ms": pct(wall, 0.95), "cpu_p50_ms": pct(cpu, 0.5),
            "cpu_p95_ms": pct(cpu, 0.95)}


def cosine_profile(index: MetierIndex, rows: list[tuple[str, str, set[str]]]) -> dict[str, float]:
    """Median cosine of a query with any fiche, and mean cosine of its best accepted fiche (calibration)."""
    medians, best = [], []
    for _, query, accepted in rows:
        analysed = index._analyse(query)  # noqa: SLF001 - a measuring script reads the index's internals
        cosines = index._semantic_cosines(analysed) if analysed else None  # noqa: SLF001
        if cosines is None:
            continue
        per_target = cosines[index._target_doc]  # noqa: SLF001
        medians.append(float(np.median(cosines)))
        good = [per_target[i] for i, (_, parent) in enumerate(index._targets) if parent in accepted]  # noqa: SLF001
        if good:
            best.append(float(max(good)))
    return {"median_cosine": round(float(np.mean(medians)), 3), "accepted_cosine": round(float(np.mean(best)), 3)}


def _print_side_by_side(name: str, path: Path, lexical: dict, hybrid: dict) -> None:
    print(f"\n{name} on {path.name}: kind, rows, lexical top-1/top-5, hybrid top-1/top-5")
    for kind, h in hybrid["summary"].items():
        lx = lexical["summary"][kind]
        print(f"  {kind:>8} {h['rows']:4d}   lexical {lx['top1_pct']:5.1f} % / {lx['top5_pct']:5.1f} %   "
              f"hybrid {h['top1_pct']:5.1f} % / {h['top5_pct']:5.1f} %")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csv", nargs="*", type=Path, default=DEFAULT_CSVS,
                        help="judged files (default: both dev files)")
    parser.add_argument("--backend", action="append", default=None,
                        help="embedding backend(s) to compare (default: LBA_EMBEDDING_BACKEND); 'none' = lexical")
    parser.add_argument("--misses", action="store_true", help="list the hybrid misses")
    args = parser.parse_args(argv)
    base = Settings.from_env()
    refs = get_referentials(base.data_dir)
    files = {path: read_judgements(path) for path in args.csv}
    results = []
    for backend in args.backend or [base.embedding_backend]:
        settings = replace(base, embedding_backend=backend,
                           embedding_model=base.embedding_model if backend == base.embedding_backend else "")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        index = build_metier_index(settings, refs)
        name = index.embedder.name if index.semantic else "lexical-only"
        print(f"index {name}: {len(index.entries)} entries, semantic={'on' if index.semantic else 'off'}, "
              f"built in {time.perf_counter() - started:.1f} s")
        row = {"backend": backend, "model": name, "files": {}}
        all_queries = [query for rows in files.values() for _, query, _ in rows]
        for path, rows in files.items():
            lexical, hybrid = evaluate(index, rows, semantic=False), evaluate(index, rows)
            _print_side_by_side(name, path, lexical, hybrid)
            if args.misses:
                for miss in hybrid["misses"]:
                    mark = "top-5" if miss["in_top5"] else "MISS "
                    print(f"    {mark} [{miss['kind']}] {miss['query']!r}: expected {'|'.join(miss['accepted'])}, "
                          f"got {', '.join(miss['got']) or '-'}")
            row["files"][path.name] = {"lexical": lexical["summary"], "hybrid": hybrid["summary"]}
            if index.semantic:
                row["files"][path.name]["cosines"] = cosine_profile(index, rows)
        row["resolve"] = latency(index, all_queries)
        row["max_rss_growth_mb"] = round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024)
        print(f"  résolution over {len(all_queries)} queries: p50 {row['resolve']['p50_ms']} ms, "
              f"p95 {row['resolve']['p95_ms']} ms (CPU p95 {row['resolve']['cpu_p95_ms']} ms); "
              f"peak RSS growth {row['max_rss_growth_mb']} MB")
        results.append(row)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
