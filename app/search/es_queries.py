"""Pure builders of Elasticsearch/OpenSearch request bodies from neutral queries, and readers of their answers.

Nothing here talks to a server: `app.search.elastic` sends what these functions build, to
Elasticsearch 8/9 and to OpenSearch 2.x alike, so both engines receive the very same bodies.

Exact parity with the embedded engine rests on derived fields. Every indexed document gets a
`derived` object, excluded from the stored `_source` (so `get_many` returns the document as it was
given), holding values computed in Python by `app.search.derived`, the same function the embedded
engine's rows come from: the unit vector of the location, the publication and expiry days, and
the per-ROME hiring scores. Painless scripts then compute the squared chord to the query point with
the same IEEE operations as `geo.chord2` and the SQL of the embedded engine, so the radius filter,
the distance order and the distance facets give the same documents in the same order, to the bit.
The engine's own `geo_distance` only pre-filters: it works on Lucene's quantised points (up to
~1 cm off) with a haversine documented to 40 cm, so it runs with a margin (`prefilter_distance_m`)
and the exact script filter decides.
"""
from __future__ import annotations

import copy
import math
import struct
from collections.abc import Iterable
from datetime import date
from typing import Any

from app.search.contract import Hit, MatchQuery
from app.search.derived import derive, paris_day
from app.search.geo import EARTH_RADIUS_KM, chord2, km_from_chord2, max_chord2, unit_vector
from app.search.text import text_words
from mappings import MODULES
from mappings.common import CONTRACT_TYPES
from ranking.linear import LinearSpec, painless_params, render_painless
from ranking.weights import DISTANCE_BANDS_KM

#: Name of the object of derived fields; never part of a stored `_source`.
DERIVED = "derived"
DERIVED_PROPERTIES: dict[str, Any] = {
    "x": {"type": "double"},
    "y": {"type": "double"},
    "z": {"type": "double"},
    "published_day": {"type": "integer"},  # date.toordinal() of the first 10 characters, as ranking reads it
    "expires_day": {"type": "integer"},
    "rome_score_pairs": {"type": "keyword"},  # "CODE=score" per index code, repr() floats round-trip exactly
}
#: Fields of `_source` a hit needs (the rest is fetched by `get_many` for the page only).
HIT_SOURCE = ["id", "source", "location", "rome_index_codes", "rome_scores", "diploma_level", "contract_types",
              "published_at", "expires_at", "application_count"]
#: Documents per request when reading every candidate; well under index.max_result_window (10,000).
SCAN_SIZE = 5000
#: The pre-filter's margin: 1 m covers Lucene's documented haversine error (≤ 40 cm) plus the point
#: quantisation (≤ 1.1 cm); the relative part covers the two earth radii (6371008.7714 m vs
#: 6371008.8 m, 4.5e-9) at any radius. Points inside the margin are decided by the exact script.
PREFILTER_MARGIN_M = 1.0
PREFILTER_RELATIVE = 1e-6

# Squared chord from the document's unit vector to the query's, written like geo.chord2 and the
# embedded engine's SQL: same operations in the same order, so the same doubles come out.
_CHORD2 = ("double dx = doc['derived.x'].value - params.x0; double dy = doc['derived.y'].value - params.y0;"
           " double dz = doc['derived.z'].value - params.z0;")
CHORD2_SCRIPT = _CHORD2 + " return dx * dx + dy * dy + dz * dz;"
WITHIN_SCRIPT = _CHORD2 + " return dx * dx + dy * dy + dz * dz <= params.c2max;"

#: How each input of a ranking term is read from one document (see ranking.linear.TERMS); a missing
#: day reads 0, as in the embedded engine's columns. The distance is written like geo.km_from_chord2.
PAINLESS_INPUTS = {
    "distance_km": _CHORD2 + "\ndouble distance_km = 2 * params.radius_km"
                             " * Math.asin(Math.min(1.0, Math.sqrt(dx * dx + dy * dy + dz * dz) / 2));",
    "text_score": "double text_score = _score;",
    "published_day": "long published_day = doc['derived.published_day'].size() == 0 ? 0"
                     " : doc['derived.published_day'].value;",
    "expires_day": "long expires_day = doc['derived.expires_day'].size() == 0 ? 0 : doc['derived.expires_day'].value;",
    # The best hiring score among the asked codes, 0 without one.
    "rome_score": """double rome_score = 0.0;
boolean found = false;
for (String pair : doc['derived.rome_score_pairs']) {
  int cut = pair.indexOf('=');
  if (params.codes.contains(pair.substring(0, cut))) {
    double value = Double.parseDouble(pair.substring(cut + 1));
    if (!found || value > rome_score) { rome_score = value; found = true; }
  }
}""",
    "applications": "long applications = doc['application_count'].size() == 0 ? 0 : doc['application_count'].value;",
    "source": "String source = doc['source'].size() == 0 ? '' : doc['source'].value;",
}
#: ranking.score.score over one document, rendered from ranking.linear.TERMS like the embedded
#: engine's numpy (both proven equal to ranking/ by tests/search/test_engine_ranking.py). Painless
#: knows Math.max for doubles only; day counts and application counts are small integers, exact as
#: doubles, so the divisions give Python's values. One constant source so the node compiles it once.
TOTAL_SCRIPT = render_painless(PAINLESS_INPUTS)


# ----- names and index bodies ----------------------------------------------------------------------
def alias_name(prefix: str, kind: str) -> str:
    """The alias readers and writers use for `kind`; it always points at the published generation."""
    return f"{prefix}-{kind}"


def index_name(prefix: str, kind: str, generation: str) -> str:
    """The concrete index of one generation."""
    return f"{alias_name(prefix, kind)}-{generation}"


def generation_of(prefix: str, kind: str, index: str) -> str:
    """The generation suffix of a concrete index name."""
    return index[len(alias_name(prefix, kind)) + 1:]


def index_body(kind: str, flavor: str, *, shards: int, meta: dict[str, Any], replicas: int = 0) -> dict[str, Any]:
    """The body creating one generation: the kind's mapping, derived fields, and build-time settings.

    Refresh off and asynchronous translog while loading: nobody reads the index yet and a failed
    build throws it away, so freshness and fsyncs buy nothing until `publish`. Replicas are those
    the index will serve with (0 on a single node): on a cluster, a node lost mid-build then costs
    a replica promotion instead of the primary shard, and the build completes.
    """
    body = copy.deepcopy(MODULES[kind].ES_MAPPING)
    mappings = body["mappings"]
    if kind in ("formation", "offer", "company"):
        mappings["properties"][DERIVED] = {"properties": copy.deepcopy(DERIVED_PROPERTIES)}
        mappings["_source"] = {"excludes": [DERIVED, f"{DERIVED}.*"]}
    if flavor == "opensearch":
        _adapt_to_opensearch(mappings["properties"])
    mappings["_meta"] = meta
    body["settings"] = {**body["settings"], "index": {
        "number_of_shards": shards, "number_of_replicas": replicas, "refresh_interval": "-1",
        "translog": {"durability": "async"}}}
    return body


def _adapt_to_opensearch(properties: dict[str, Any]) -> None:
    """Swap Elasticsearch-only field types for OpenSearch ones, in place.

    `dense_vector` does not exist in OpenSearch; its `knn_vector` needs the k-NN plugin, which a
    bare node lacks. The métier embeddings are only read back (never searched in the engine), so a
    non-indexed float array keeps them in `_source` on any OpenSearch.
    """
    for name, field in properties.items():
        if field.get("type") == "dense_vector":
            properties[name] = {"type": "float", "index": False, "doc_values": False}
        elif "properties" in field:
            _adapt_to_opensearch(field["properties"])


def serving_settings(replicas: int) -> dict[str, Any]:
    """Settings restored before a generation is published: replicas, periodic refresh, durable translog."""
    return {"index": {"number_of_replicas": replicas, "refresh_interval": "1s",
                      "translog": {"durability": "request"}}}


def alias_swap(alias: str, new_index: str, old_indices: Iterable[str]) -> dict[str, Any]:
    """One atomic `_aliases` body: the alias leaves every old generation and lands on the new one."""
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}} for old in old_indices]
    actions.append({"add": {"index": new_index, "alias": alias}})
    return {"actions": actions}


# ----- documents -----------------------------------------------------------------------------------
def with_derived(doc: dict[str, Any]) -> dict[str, Any]:
    """The document plus its derived fields (the caller's dict is not modified)."""
    d = derive(doc)
    derived: dict[str, Any] = {"x": d.x, "y": d.y, "z": d.z,
                               "rome_score_pairs": [f"{code}={score!r}" for code, score in d.code_scores]}
    if d.published_day is not None:
        derived["published_day"] = d.published_day
    if d.expires_day is not None:
        derived["expires_day"] = d.expires_day
    return {**doc, DERIVED: derived}


def bulk_index_lines(index: str, docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """NDJSON lines of a bulk request indexing `docs` (with derived fields) under their ids."""
    lines: list[dict[str, Any]] = []
    for doc in docs:
        lines.append({"index": {"_index": index, "_id": str(doc["id"])}})
        lines.append(with_derived(doc))
    return lines


def bulk_delete_lines(index: str, ids: Iterable[str]) -> list[dict[str, Any]]:
    """NDJSON lines of a bulk request deleting `ids`."""
    return [{"delete": {"_index": index, "_id": str(doc_id)}} for doc_id in ids]


# ----- queries -------------------------------------------------------------------------------------
def prefilter_distance_m(radius_km: float) -> float:
    """Radius of the engine's own geo_distance pre-filter: wide enough to never lose a point."""
    return radius_km * 1000.0 * (1 + PREFILTER_RELATIVE) + PREFILTER_MARGIN_M


def _point_params(query: MatchQuery) -> dict[str, float]:
    x0, y0, z0 = unit_vector(query.latitude, query.longitude)  # type: ignore[arg-type]
    return {"x0": x0, "y0": y0, "z0": z0}


def filters(query: MatchQuery, today: date) -> list[dict[str, Any]]:
    """The filter clauses of a query, the same rules as the embedded engine's scan (`app.search.embedded.scan`)."""
    clauses: list[dict[str, Any]] = [{"terms": {"rome_index_codes": list(dict.fromkeys(query.romes))}}]
    if query.diploma_level is not None:
        clauses.append({"bool": {"should": [
            {"term": {"diploma_level": query.diploma_level}},
            {"bool": {"must_not": [{"exists": {"field": "diploma_level"}}]}}], "minimum_should_match": 1}})
    if query.contract_types:
        known = [c for c in dict.fromkeys(query.contract_types) if c in CONTRACT_TYPES]
        # Unknown contract names select nothing, as their empty bit mask does in the embedded engine.
        clauses.append({"terms": {"contract_types": known}} if known else {"match_none": {}})
    if query.sources:
        clauses.append({"terms": {"source": list(dict.fromkeys(query.sources))}})
    clauses.extend(document_filters(query))
    if not query.include_expired:
        clauses.append({"bool": {"should": [
            {"range": {f"{DERIVED}.expires_day": {"gte": today.toordinal()}}},
            {"bool": {"must_not": [{"exists": {"field": f"{DERIVED}.expires_day"}}]}}], "minimum_should_match": 1}})
    if query.located:
        clauses.append({"geo_distance": {"distance": prefilter_distance_m(query.radius_km),
                                         "location": {"lat": query.latitude, "lon": query.longitude}}})
        clauses.append({"script": {"script": {"source": WITHIN_SCRIPT, "lang": "painless",
                                              "params": {**_point_params(query),
                                                         "c2max": max_chord2(query.radius_km)}}}})
    return clauses


def _opco_is(name: str) -> dict[str, Any]:
    if not name:
        return {"bool": {"should": [{"term": {"organisation.opco": ""}},
                                    {"bool": {"must_not": [{"exists": {"field": "organisation.opco"}}]}}],
                         "minimum_should_match": 1}}
    return {"term": {"organisation.opco": {"value": name, "case_insensitive": True}}}


def document_filters(query: MatchQuery) -> list[dict[str, Any]]:
    """Clauses of the department, OPCO and source filters, the embedded engine's `scan.document_mask` rules."""
    clauses: list[dict[str, Any]] = []
    if query.departments:
        codes = list(dict.fromkeys(query.departments))
        clauses.append({"bool": {"should": [{"terms": {"place.department": codes}},
                                            *({"prefix": {"place.postcode": code}} for code in codes)],
                                 "minimum_should_match": 1}})
    if query.opcos:
        clauses.append({"bool": {"should": [_opco_is(name) for name in dict.fromkeys(query.opcos)],
                                 "minimum_should_match": 1}})
    if query.exclude_opcos:
        clauses.append({"bool": {"must_not": [_opco_is(name) for name in dict.fromkeys(query.exclude_opcos)]}})
    if query.exclude_sources:
        clauses.append({"bool": {"must_not": [{"terms": {"source": list(dict.fromkeys(query.exclude_sources))}}]}})
    return clauses


def candidate_query(query: MatchQuery, today: date) -> dict[str, Any]:
    """The bool query of the candidates; the text only scores (BM25), it never filters.

    The text is the words `app.search.text` keeps (no stop word, at most MAX_WORDS), as the
    embedded engine scores them; inside the bool query Lucene scores only documents that pass
    every filter clause (geo, jobs, expiry), never the whole index.
    """
    body: dict[str, Any] = {"filter": filters(query, today)}
    words = text_words(query.text)
    if words:
        body["should"] = [{"match": {"search_text": {"query": " ".join(words)}}}]
    return {"bool": body}


def _chord_sort(query: MatchQuery) -> dict[str, Any]:
    return {"_script": {"type": "number", "order": "asc",
                        "script": {"source": CHORD2_SCRIPT, "lang": "painless", "params": _point_params(query)}}}


def _page(body: dict[str, Any], size: int, search_after: list[Any] | None) -> dict[str, Any]:
    body["size"] = size
    if search_after is not None:
        body["search_after"] = search_after
    return body


def search_body(query: MatchQuery, today: date, size: int, search_after: list[Any] | None = None) -> dict[str, Any]:
    """Candidates nearest first (exact squared chord, then id), or by id without a point; exact total."""
    sort = [_chord_sort(query), {"id": "asc"}] if query.located else [{"id": "asc"}]
    body = {"query": candidate_query(query, today), "sort": sort, "_source": HIT_SOURCE,
            "track_total_hits": True, "track_scores": bool(query.text.strip())}
    return _page(body, size, search_after)


def scan_body(query: MatchQuery, today: date, size: int = SCAN_SIZE,
              search_after: list[Any] | None = None) -> dict[str, Any]:
    """Every candidate, by id (the cheapest stable order), with text scores when there is text."""
    body = {"query": candidate_query(query, today), "sort": [{"id": "asc"}], "_source": HIT_SOURCE,
            "track_total_hits": False, "track_scores": bool(query.text.strip())}
    return _page(body, size, search_after)


def total_params(query: MatchQuery, spec: LinearSpec) -> dict[str, Any]:
    """Parameters of TOTAL_SCRIPT for one kind: the terms' weights and constants as plain JSON numbers."""
    params: dict[str, Any] = {
        "located": bool(spec.located and query.located), "radius_km": EARTH_RADIUS_KM,
        "codes": list(dict.fromkeys(query.romes)), **painless_params(spec),
    }
    if query.located:
        params.update(_point_params(query))
    return params


def rank_sort(query: MatchQuery, spec: LinearSpec, sort: str) -> list[dict[str, Any]]:
    """The embedded engine's sort keys (`select.sort_keys`): total, distance, date and id as `sort` asks."""
    total = {"_script": {"type": "number", "order": "desc",
                         "script": {"source": TOTAL_SCRIPT, "lang": "painless", "params": total_params(query, spec)}}}
    near = [_chord_sort(query)] if query.located else []
    by_id = {"id": "asc"}
    if sort == "relevance":
        return [total, *near, by_id]
    if sort == "distance":
        return [*near, total, by_id]
    if sort == "date":
        newest = {f"{DERIVED}.published_day": {"order": "desc", "missing": "_last"}}
        return [newest, total, *near, by_id]
    raise ValueError(f"unknown sort {sort!r}")


def facet_aggregations(query: MatchQuery) -> dict[str, Any]:
    """Counts by diploma level, contract type and distance band over every candidate."""
    aggs: dict[str, Any] = {
        "diploma": {"terms": {"field": "diploma_level", "size": 20, "missing": -1}},
        "contract": {"terms": {"field": "contract_types", "size": 20, "include": list(CONTRACT_TYPES)}},
    }
    if query.located:
        # Range buckets are [from, to): the next double above max_chord2(edge) makes the upper edge
        # inclusive, as `facet_distance_band` and the embedded engine's `c2 <= :b10` have it.
        edges = [math.nextafter(max_chord2(edge), math.inf) for edge in DISTANCE_BANDS_KM]
        ranges = [{"key": _band(0.0, DISTANCE_BANDS_KM[0]), "to": edges[0]}]
        for i in range(1, len(edges)):
            ranges.append({"key": _band(DISTANCE_BANDS_KM[i - 1], DISTANCE_BANDS_KM[i]),
                           "from": edges[i - 1], "to": edges[i]})
        ranges.append({"key": f"{DISTANCE_BANDS_KM[-1]:g}+", "from": edges[-1]})
        aggs["distance"] = {"range": {"script": {"source": CHORD2_SCRIPT, "lang": "painless",
                                                 "params": _point_params(query)}, "ranges": ranges}}
    return aggs


def _band(lower: float, upper: float) -> str:
    return f"{lower:g}-{upper:g}"


def rank_body(query: MatchQuery, spec: LinearSpec, sort: str, today: date, size: int,
              search_after: list[Any] | None = None, with_facets: bool = True) -> dict[str, Any]:
    """The `size` best candidates of one kind by the ranking formula, with exact total and facets."""
    body: dict[str, Any] = {"query": candidate_query(query, today), "sort": rank_sort(query, spec, sort),
                            "_source": HIT_SOURCE, "track_total_hits": True,
                            "track_scores": bool(query.text.strip())}
    if with_facets:
        body["aggs"] = facet_aggregations(query)
    return _page(body, size, search_after)


# ----- answers -------------------------------------------------------------------------------------
def float32(value: float) -> float:
    """The float32 that a server printed as `value`.

    Lucene scores are 32-bit floats, printed as the shortest decimal that identifies them; a script
    reads the exact float32. Rounding the parsed double back to float32 gives Python that same
    number, so text scores feed ranking identically on both sides.
    """
    return struct.unpack("f", struct.pack("f", value))[0]


def hit_from(kind: str, raw: dict[str, Any], query: MatchQuery, rank_score: float | None = None) -> Hit:
    """A contract Hit from one search hit, with the embedded engine's conventions field by field."""
    src = raw["_source"]
    lat = float(src["location"]["lat"])
    lon = float(src["location"]["lon"])
    distance = None
    if query.located:
        distance = km_from_chord2(chord2(unit_vector(query.latitude, query.longitude),  # type: ignore[arg-type]
                                         unit_vector(lat, lon)))
    scores = src.get("rome_scores") or {}
    codes = set(src.get("rome_index_codes") or [])
    asked = [float(scores.get(code, 0.0)) for code in dict.fromkeys(query.romes) if code in codes]
    contracts = set(src.get("contract_types") or [])
    expires = src.get("expires_at")
    raw_score = raw.get("_score")
    text_score = float32(raw_score) if query.text.strip() and raw_score else 0.0
    return Hit(kind, src["id"], src.get("source") or "", distance, lat, lon, max(asked, default=0.0),
               src.get("diploma_level"), tuple(c for c in CONTRACT_TYPES if c in contracts),
               src.get("published_at"), paris_day(expires),
               int(src.get("application_count") or 0), text_score, rank_score)


def facets_from(aggs: dict[str, Any] | None, located: bool, total: int) -> dict[str, dict[str, int]]:
    """The facets of one kind in the embedded engine's shape; empty buckets are left out as there."""
    out: dict[str, dict[str, int]] = {"diploma": {}, "contract": {}, "distance": {}}
    if not total or aggs is None:
        return out
    for bucket in aggs["diploma"]["buckets"]:
        out["diploma"]["unknown" if bucket["key"] == -1 else str(bucket["key"])] = bucket["doc_count"]
    for bucket in aggs["contract"]["buckets"]:
        out["contract"][bucket["key"]] = bucket["doc_count"]
    if located:
        out["distance"] = {b["key"]: b["doc_count"] for b in aggs["distance"]["buckets"] if b["doc_count"]}
    else:
        out["distance"] = {"unknown": total}
    return out
