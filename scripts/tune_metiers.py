"""Tune the hybrid (lexical + semantic) weights of one embedding model on the dev files and the project's own
queries, never on anything else; prints the best calibration for ranking/resolve_weights.py.

Each query's lexical scores and cosines are computed once; a weight set then costs only the fusion, so the
grid runs in seconds once the index is built.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.config import Settings
from app.metiers import build_metier_index, index as index_module
from app.referentials import get_referentials
from scripts.eval_metiers import DEFAULT_CSVS, _print_side_by_side, evaluate, read_judgements

OWN_QUERIES = Path(__file__).resolve().parent.parent / "tests" / "metiers" / "dev_queries.csv"
# Text that must resolve to nothing (the confidence floor), written for this project.
JUNK = ["zzzz qqqq", "xqzwv kjhgf", "lorem ipsum dolor", "asdfgh", "qwerty", "undefined", "null", "azerty uiop",
        "blablabla", "kkkkkk"]


def _memoise(index) -> None:
    """Cache the two expensive per-query steps of the index, keyed by the analysed query."""
    lexical, cosines = {}, {}
    real_lexical, real_cosines = index._lexical_targets, index._target_cosines  # noqa: SLF001

    def lexical_targets(query):
        key = repr(query.variants)
        if key not in lexical:
            lexical[key] = real_lexical(query)
        return lexical[key]

    def target_cosines(query):
        if query.embed_text not in cosines:
            cosines[query.embed_text] = real_cosines(query)
        return cosines[query.embed_text]

    index._lexical_targets, index._target_cosines = lexical_targets, target_cosines  # noqa: SLF001
    analysed, real_analyse = {}, index._analyse  # noqa: SLF001

    def analyse(text):
        if text not in analysed:
            analysed[text] = real_analyse(text)
        return analysed[text]

    index._analyse = analyse  # noqa: SLF001
    places, real_find = {}, index_module.find_place

    def find_place(communes, text):
        if text not in places:
            places[text] = real_find(communes, text)
        return places[text]

    index_module.find_place = find_place


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default=None, help="embedding backend (default: LBA_EMBEDDING_BACKEND)")
    args = parser.parse_args(argv)
    base = Settings.from_env()
    settings = replace(base, embedding_backend=args.backend or base.embedding_backend)
    index = build_metier_index(settings, get_referentials(base.data_dir))
    if not index.semantic:
        print("no semantic side: nothing to tune")
        return 1
    tune(index)
    return 0


def judged_files() -> dict[str, list[tuple[str, str, set[str]]]]:
    """The two dev files and the project's own queries: all that tuning may look at."""
    files = {path.name: read_judgements(path) for path in DEFAULT_CSVS}
    files["own"] = read_judgements(OWN_QUERIES)
    return files


def tune(index, small: bool = False) -> dict:
    """Grid-search the semantic calibration of `index`'s model; print the best and return it.

    `small` searches 32 points instead of 486 (a loaded machine)."""
    files = judged_files()
    _memoise(index)
    start = index.weights
    # Cosine scale of this model: median and mean best-accepted cosine over the dev queries.
    profile = []
    for rows in files.values():
        for _, query, _ in rows:
            analysed = index._analyse(query)  # noqa: SLF001
            if analysed is not None:
                cos = index._target_cosines(analysed)  # noqa: SLF001
                if cos is not None:
                    profile.append((float(np.median(cos)), float(cos.max())))
    median = float(np.mean([p[0] for p in profile]))
    top = float(np.mean([p[1] for p in profile]))
    print(f"cosines: mean median {median:.3f}, mean best {top:.3f}")
    grid = {
        "semantic_floor": [round(median + d * (top - median), 3) for d in (0.0, 0.25, 0.5)],
        "semantic_ceiling": [round(top + d * (top - median), 3) for d in (-0.25, 0.0, 0.25)],
        "semantic_min": [0.05, 0.10, 0.20],
        "semantic_max": [0.4, 0.6, 0.8],
        "embed_below_lexical": [0.9, 2.0],
        "min_confidence": [0.3, 0.4, 0.5],
    }
    if small:
        grid = {"semantic_floor": grid["semantic_floor"][::2], "semantic_ceiling": grid["semantic_ceiling"][:2],
                "semantic_min": [0.10, 0.20], "semantic_max": [0.6, 0.8], "embed_below_lexical": [2.0],
                "min_confidence": [0.3, 0.45]}
    results = []
    for values in itertools.product(*grid.values()):
        trial = dict(zip(grid, values))
        if trial["semantic_ceiling"] <= trial["semantic_floor"]:
            continue
        index.weights = replace(start, **trial)
        scores = {name: evaluate(index, rows)["summary"] for name, rows in files.items()}
        junk = sum(bool(index.resolve(text)) for text in JUNK)
        hard = scores["metiers_dev_hard.csv"]
        dev = scores["metiers_dev.csv"]["all"]
        worst_kind = min(v["top1_pct"] for k, v in hard.items() if k != "all")
        objective = (hard["all"]["top1"] + dev["top1"] + 0.5 * scores["own"]["all"]["top1"] + 0.25 *
                     (hard["all"]["top5"] + dev["top5"]) + 0.02 * worst_kind - 5 * junk)
        results.append((objective, trial, {k: v["all"] for k, v in scores.items()}, worst_kind, junk))
    results.sort(key=lambda r: -r[0])
    for objective, trial, summary, worst, junk in results[:5]:
        print(f"{objective:7.2f} worst-kind top-1 {worst:5.1f} % junk resolved {junk}  {json.dumps(trial)}")
        print("        " + json.dumps({k: (v["top1_pct"], v["top5_pct"]) for k, v in summary.items()}))
    index.weights = replace(start, **results[0][1])
    for path in DEFAULT_CSVS:
        rows = files[path.name]
        _print_side_by_side(f"{index.embedder.name} (tuned)", path, evaluate(index, rows, semantic=False),
                            evaluate(index, rows))
    print(json.dumps({index.embedder.name: results[0][1]}))
    return results[0][1]


if __name__ == "__main__":
    sys.exit(main())
