"""Demo data end to end: generate the source files when missing, then build the three indexes from them."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from tqdm import tqdm

from app.referentials import Referentials
from app.search.contract import SearchEngine
from indexers import ImportStats, catalogue, france_travail, recruiters
from indexers.breakdown import Breakdown
from indexers.sources import DEMO_FILES, DEMO_MANIFEST
from scripts import demo_data

log = logging.getLogger(__name__)

FILES = DEMO_FILES
MANIFEST = DEMO_MANIFEST
#: Index kind → (generator key, indexer module), in build order.
SOURCES = {
    "offer": ("offers", france_travail),
    "formation": ("formations", catalogue),
    "company": ("companies", recruiters),
}


def read_manifest(demo_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of a demo directory, or None when absent or unreadable."""
    try:
        return json.loads((Path(demo_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


#: Demo offers are dated before the generation day and expire two months after creation, so files
#: older than this are regenerated rather than served with a growing share of expired offers.
MAX_AGE_DAYS = 7


def is_current(demo_dir: str | Path, scale: str, seed: int, today: date | None = None) -> bool:
    """Whether `demo_dir` holds complete, recent files of this scale, seed and generator version."""
    manifest = read_manifest(demo_dir)
    if not manifest:
        return False
    try:
        age = ((today or date.today()) - date.fromisoformat(manifest.get("reference_date", ""))).days
    except ValueError:
        return False
    return (manifest.get("scale") == scale and manifest.get("seed") == seed and 0 <= age <= MAX_AGE_DAYS
            and manifest.get("generator_version") == demo_data.GENERATOR_VERSION
            and manifest.get("counts") == demo_data.scale_counts(scale)
            and all((Path(demo_dir) / name).is_file() for name in FILES.values()))


def ensure_demo_data(refs: Referentials, demo_root: str | Path, scale: str, seed: int = 42,
                     progress: bool = False, today: date | None = None) -> Path:
    """The directory `demo_root/scale` with demo files, generated unless a matching manifest is there.

    Files older than MAX_AGE_DAYS are regenerated, so the demo never serves mostly expired offers.
    """
    out = Path(demo_root) / scale
    if is_current(out, scale, seed, today):
        log.info("reusing demo data in %s", out)
        return out
    log.info("generating %s demo data in %s", scale, out)
    # The manifest is written last: a generation interrupted half-way is not taken as complete.
    (out / MANIFEST).unlink(missing_ok=True)
    demo_data.generate(refs, out, scale, seed, progress=progress, today=today)
    return out


def _counted(documents: Iterator[dict[str, Any]], bar: tqdm) -> Iterator[dict[str, Any]]:
    for document in documents:
        bar.update()
        yield document


def index_file(engine: SearchEngine, refs: Referentials, kind: str, path: str | Path,
               progress: bool = False, total: int | None = None, breakdown: Breakdown | None = None) -> ImportStats:
    """Build and publish a new generation of the `kind` index from one source file (counted by source and
    region into `breakdown` when given).

    A file that cannot be read to its end raises and the engine discards the generation, so the
    published index keeps serving.
    """
    _, module = SOURCES[kind]
    stats = ImportStats(module.SOURCE)
    started = time.perf_counter()
    with tqdm(total=total, disable=not progress, unit=" docs", desc=f"index {kind}") as bar:
        with engine.new_generation(kind) as builder:
            documents = module.iter_documents(path, refs, stats)
            builder.add(_counted(breakdown.counted(documents) if breakdown is not None else documents, bar))
    stats.seconds = time.perf_counter() - started
    log.info("%s", stats)
    return stats


def index_demo(engine: SearchEngine, refs: Referentials, demo_dir: str | Path,
               progress: bool = False, breakdowns: dict[str, Breakdown] | None = None) -> dict[str, ImportStats]:
    """Build the offer, formation and company indexes from the demo files of `demo_dir`; stats per kind
    (and each kind's documents by source and region into `breakdowns[kind]` when given)."""
    manifest = read_manifest(demo_dir) or {}
    counts = manifest.get("counts") or {}
    results = {}
    for kind, (key, _) in SOURCES.items():
        results[kind] = index_file(engine, refs, kind, Path(demo_dir) / FILES[key], progress,
                                   counts.get(key), (breakdowns or {}).get(kind))
    return results
