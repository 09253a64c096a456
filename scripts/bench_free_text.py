"""Benchmark free text and deep pages of `/api/v1/match` in process on the national demo data.

Three tables, one JSON object per line, then a summary line:

* `judged`: the judged job texts of metiers_dev.csv (`--eval`), each at a place drawn by
  population, 30 km, all kinds, page 1 of 20: p50/p95 of the whole request (résolution included);
* `hostile`: each text of HOSTILE_TEXTS near Paris, its median over `--repeat` runs, and the worst
  against a plain one-word text (`worst_ratio`);
* `deep_pages`: page 1 and page 500 of 100 for common codes at drawn places: p50/p95 and statuses.

Runs the code of the checkout it is started from, on the index of `LBA_INDEX_DIR` (which must hold
a national build), so the same command gives the figures before and after a change:
`LBA_INDEX_DIR=... PYTHONPATH=$PWD python scripts/bench_free_text.py`.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # noqa: E402

PARIS = (48.8566, 2.3522)
PLAIN_TEXT = "boulanger"
#: The hostile free-text table: stop words, two-letter words, long lists of short words, FTS5 and
#: Lucene syntax, SQL, wildcards.
HOSTILE_TEXTS = [
    PLAIN_TEXT,
    "assistante de direction",
    "aide soignant",
    "de la le les un une des du au aux et ou en sur pour par avec dans sous chez vers",
    "ab cd ef gh ij kl mn op qr st uv wx yz ba dc fe hg ji lk nm",
    "a b c d e f g h i j k l m n o p q r s t",
    "de* la* le* un* et* ou* en* au* du* an*",
    '" OR 1=1 --',
    "' OR 1=1 --",
    'NEAR(aide soignant, 2) AND "de" OR de* NOT la',
    "text:boulanger^10 OR *:* AND (a OR b) ~2",
    "* * * * * * * * * *",
    "%ff%fe\x00boulanger",
    "boulanger " * 40,
]
DEEP_CODES = ["D1106", "G1603", "K2204", "H2909", "M1607", "N1103"]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(timings: list[float]) -> dict[str, float]:
    return {"n": len(timings), "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(percentile(timings, 95), 2), "max_ms": round(max(timings), 2)}


def places(n: int, seed: int) -> list[tuple[float, float]]:
    """`n` communes drawn by population (current communes only)."""
    from app.referentials import get_referentials

    refs = get_referentials(Settings.from_env().data_dir)
    rng = random.Random(seed)
    communes = [c for c in refs.communes if c.population > 0 and c.kind == "commune-actuelle"]
    chosen = rng.choices(communes, [c.population for c in communes], k=n)
    return [(c.latitude, c.longitude) for c in chosen]


def timed(client: Any, params: dict[str, Any]) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get("/api/v1/match?" + urlencode(params))
    return (time.perf_counter() - started) * 1000, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", default=str(Path(__file__).resolve().parents[2] / "shared/eval/metiers_dev.csv"))
    parser.add_argument("--rounds", type=int, default=3, help="passes over the judged texts")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each hostile text")
    parser.add_argument("--deep", type=int, default=40, help="deep-page queries")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    from app.factory import create_app

    settings = Settings.from_env()
    folder = Path(settings.index_dir).parent / "bench-store"
    folder.mkdir(parents=True, exist_ok=True)
    settings = replace(settings, database_url=f"sqlite:///{folder / 'lba.sqlite'}",
                       ratelimit_path=str(folder / "ratelimit.sqlite"), anonymous_rate=10**9)
    # The bench store is new on a fresh machine: the app refuses a store behind its migrations.
    from app.store import upgrade
    from app.store.engine import engine_for

    upgrade(engine_for(settings.database_url))
    app = create_app(settings)
    client = app.test_client()

    with open(args.eval, newline="", encoding="utf-8") as handle:
        texts = [row["query"] for row in csv.DictReader(handle)]
    where = places(len(texts) * args.rounds + args.deep, args.seed)
    for text in texts[:10]:  # warm the page cache, the résolveur and the statement caches
        timed(client, {"q": text, "latitude": PARIS[0], "longitude": PARIS[1]})

    judged, statuses = [], {}
    for round_ in range(args.rounds):
        for i, text in enumerate(texts):
            lat, lon = where[round_ * len(texts) + i]
            ms, status = timed(client, {"q": text, "latitude": lat, "longitude": lon, "radius": 30})
            judged.append(ms)
            statuses[status] = statuses.get(status, 0) + 1
    out: dict[str, Any] = {"judged": {**summary(judged), "statuses": statuses}}
    print(json.dumps({"table": "judged", **out["judged"]}), flush=True)

    # The same requests with the résolveur's codes given (`romes` + `q`): the engine's and the
    # ranking's share, text scoring included, without the free text → jobs résolution.
    codes = {}
    for text in texts:
        answer = client.get("/api/v1/match?" + urlencode({"q": text, "latitude": PARIS[0], "longitude": PARIS[1]}))
        if answer.status_code == 200:
            codes[text] = ",".join(r["code"] for r in answer.get_json()["romes"])
    engine_side = []
    for round_ in range(args.rounds):
        for i, text in enumerate(texts):
            if text not in codes:
                continue
            lat, lon = where[round_ * len(texts) + i]
            ms, _ = timed(client, {"romes": codes[text], "q": text, "latitude": lat, "longitude": lon, "radius": 30})
            engine_side.append(ms)
    out["judged_codes_given"] = summary(engine_side)
    print(json.dumps({"table": "judged_codes_given", **out["judged_codes_given"]}), flush=True)

    hostile = {}
    for text in HOSTILE_TEXTS:
        runs, status = [], 0
        for _ in range(args.repeat):
            ms, status = timed(client, {"q": text, "latitude": PARIS[0], "longitude": PARIS[1], "radius": 30})
            runs.append(ms)
        hostile[text] = (statistics.median(runs), status)
        print(json.dumps({"table": "hostile", "q": text[:60], "median_ms": round(hostile[text][0], 2),
                          "status": status}), flush=True)
    plain = hostile[PLAIN_TEXT][0]
    worst = max(hostile, key=lambda t: hostile[t][0])
    out["hostile"] = {"plain_ms": round(plain, 2), "worst_ms": round(hostile[worst][0], 2), "worst_q": worst[:60],
                      "worst_ratio": round(hostile[worst][0] / plain, 2)}

    rng = random.Random(args.seed)
    deep: dict[str, list[float]] = {"page_1": [], "page_500": []}
    deep_status: dict[str, dict[int, int]] = {"page_1": {}, "page_500": {}}
    for lat, lon in where[-args.deep:]:
        romes = ",".join(rng.sample(DEEP_CODES, 2))
        for name, page in (("page_1", 1), ("page_500", 500)):
            ms, status = timed(client, {"romes": romes, "latitude": lat, "longitude": lon, "radius": 100,
                                        "page": page, "page_size": 100})
            deep[name].append(ms)
            deep_status[name][status] = deep_status[name].get(status, 0) + 1
    out["deep_pages"] = {name: {**summary(values), "statuses": deep_status[name]} for name, values in deep.items()}
    print(json.dumps({"table": "deep_pages", **out["deep_pages"]}), flush=True)
    print(json.dumps({"summary": out}))


if __name__ == "__main__":
    main()
