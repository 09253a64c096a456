"""Run judged queries through the match service under a given weights file and grade what comes back."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from app.schemas import MatchRequestSchema
from app.services.match import MatchService, NoJobForText, TextNotAvailable, UnknownRome
from app.services.places import UnknownPlace
from ranking import Weights
from ranking.evaluate import QueryRun
from ranking.judged import JudgedQuery

#: Results per query graded as its pool of candidates (the ideal of nDCG): the engine filters the
#: same set whatever the weights, so a deep page of it stands for "every result this query has".
POOL_SIZE = 100


class QueryFailed(ValueError):
    """A judged query the match service refuses, as the API would with a 400; the message names the query."""


def result_properties(item: dict[str, Any], today: date) -> dict[str, Any]:
    """What judgement rules may test on a result item of the match API (ranking/judged.PROPERTIES)."""
    published = item.get("published_at")
    age = None
    if published:
        try:
            age = (today - date.fromisoformat(str(published)[:10])).days
        except ValueError:
            age = None
    romes = item.get("romes") or []
    return {"id": item["id"], "kind": item["kind"],
            "source": item.get("source") or {"formation": "catalogue", "company": "recruteurs_lba"}.get(item["kind"]),
            "distance_km": item.get("distance_km"), "application_count": item.get("application_count") or 0,
            "age_days": age, "rome": romes[0] if romes else None}


def match_params(query: JudgedQuery, page_size: int) -> dict[str, Any]:
    """The query's parameters loaded by the API's own schema, so a judged query is an API request."""
    return MatchRequestSchema().load_args({**query.params, "page": "1", "page_size": str(page_size)})


def run_query(service: MatchService, query: JudgedQuery, k: int = 10) -> tuple[QueryRun, list[dict[str, Any]]]:
    """Grades of the first k results and of the pool; also the first k results' properties."""
    today = service.today()
    name = f"query {query.query_id}"
    shown = [result_properties(i, today) for i in run_one(service, match_params(query, k), name)["items"]]
    pool = [result_properties(i, today) for i in run_one(service, match_params(query, POOL_SIZE), name)["items"]]
    pool_by_id = {(p["kind"], p["id"]): p for p in pool + shown}
    asked = tuple(match_params(query, k)["kinds"])
    run = QueryRun(query.query_id, tuple(float(query.grade(p)) for p in shown), tuple(p["kind"] for p in shown),
                   tuple(float(query.grade(p)) for p in pool_by_id.values()), asked,
                   tuple(sorted({p["kind"] for p in pool_by_id.values()})))
    return run, shown


def run_one(service: MatchService, params: dict[str, Any], name: str = "search") -> dict[str, Any]:
    """The match answer to loaded `params`; the service's refusals become QueryFailed naming `name`."""
    try:
        return service.match(params)
    except TextNotAvailable:
        raise QueryFailed(f"{name}: free text (q) needs the métier résolveur") from None
    except NoJobForText:
        raise QueryFailed(f"{name}: the text {params.get('q')!r} means no known job") from None
    except UnknownRome as exc:
        raise QueryFailed(f"{name}: unknown ROME code(s) {exc}") from None
    except UnknownPlace as exc:
        raise QueryFailed(f"{name}: {exc.field}: {exc.message}") from None


def run_all(service: MatchService, weights: Weights, queries: Sequence[JudgedQuery],
            k: int = 10) -> list[QueryRun]:
    """Every judged query run under `weights` (the service's engine and referentials otherwise)."""
    weighted = replace(service, weights=weights)
    return [run_query(weighted, query, k)[0] for query in queries]


def with_shared_pool(first: Sequence[QueryRun], second: Sequence[QueryRun]) -> tuple[list[QueryRun], list[QueryRun]]:
    """Both runs with, per query, the larger pool of the two, so both nDCGs share one ideal."""
    other = {run.query_id: run for run in second}
    out_first, out_second = [], []
    for run in first:
        twin = other[run.query_id]
        pool = max(run.pool, twin.pool, key=lambda grades: sorted(grades, reverse=True)[:10])
        out_first.append(replace(run, pool=pool))
        out_second.append(replace(twin, pool=pool))
    return out_first, out_second


# ----- the explain page (app/web/ranking_admin.py): one query under two weights, side by side -------------

#: Results compared per side: the first page of the site and the next, where moves matter.
SIDE_BY_SIDE_SIZE = 20


def weights_files(folders: Sequence[str | Path]) -> dict[str, Path]:
    """The *.toml files of `folders` by their label (the path below the code's root, or the full path)."""
    root = Path(__file__).resolve().parents[2]
    out: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.toml")):
            resolved = path.resolve()
            try:
                label = str(resolved.relative_to(root))
            except ValueError:
                label = str(resolved)
            out[label] = resolved
    return out


def _rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for position, item in enumerate(answer["items"], start=1):
        explained = item.get("explain") or {}
        rows.append({"position": position, "key": f"{item['kind']}:{item['id']}", "kind": item["kind"],
                     "id": item["id"],
                     "title": item.get("title", ""), "city": (item.get("place") or {}).get("city") or "",
                     "distance_km": item.get("distance_km"), "score": explained.get("total", item.get("score")),
                     "components": explained.get("components", {})})
    return rows


def _moves(rows: list[dict[str, Any]], other: list[dict[str, Any]]) -> None:
    """Mark each row with where it stands in `other`: up/down by how many ranks, new (absent there), same."""
    there = {row["key"]: row["position"] for row in other}
    for row in rows:
        before = there.get(row["key"])
        row["other_position"] = before
        if before is None:
            row["move"], row["shift"] = "new", None
        else:
            row["shift"] = before - row["position"]
            row["move"] = "up" if row["shift"] > 0 else "down" if row["shift"] < 0 else "same"


def side_by_side(service: MatchService, params: dict[str, Any], second: Any,
                 size: int = SIDE_BY_SIDE_SIZE) -> dict[str, Any]:
    """`params` (as MatchRequestSchema loads them) under the served weights and under `second` (ServedWeights).

    Each row carries every score component; the second side's rows say how they moved from the first
    (up/down/same/new) and the first side's rows whether they are gone under the second weights.
    """
    asked = {**params, "page": 1, "page_size": size, "explain": True}
    first_answer = run_one(service, asked)
    other = replace(service, weights=second.weights, weights_version=second.version)
    second_answer = run_one(other, asked)
    first, second_rows = _rows(first_answer), _rows(second_answer)
    _moves(second_rows, first)
    _moves(first, second_rows)
    for row in first:  # seen from the first side, a result the second weights push out is "gone"
        if row["move"] == "new":
            row["move"] = "gone"
    names = sorted({name for row in first + second_rows for name in row["components"]})
    counts = {move: sum(1 for row in second_rows if row["move"] == move) for move in ("up", "down", "same", "new")}
    counts["gone"] = sum(1 for row in first if row["move"] == "gone")
    return {"first": {"version": service.weights_version, "rows": first},
            "second": {"version": second.version, "rows": second_rows},
            "components": names, "moves": counts, "total": first_answer["total"],
            "romes": first_answer["romes"], "place": first_answer["place"], "radius_km": first_answer["radius_km"]}
