"""The match service: a validated request in, one ranked, blended, paginated and explained answer out."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from app.referentials import Referentials
from app.search.contract import KINDS, MatchQuery, RankedCandidates, SearchEngine
from app.services.items import public_item
from app.services.places import ResolvedPlace, resolve_place
from ranking import RankingContext, Weights, blend, explain, rank, rank_by_totals, with_components
from ranking.linear import linear_spec

#: When a located search finds nothing, the radius grows by this step up to WIDEN_MAX_KM, as the
#: public service's front does (la-bonne-alternance.md §2.2), and the answer says so.
WIDEN_STEP_KM = 20.0
WIDEN_MAX_KM = 100.0
#: Extra candidates asked per kind beyond what the pages need: a guard against float noise between
#: the engine's totals and Python's (the engine tests find none) at the cut.
RANK_MARGIN = 5
#: How many job families a free-text query searches: the résolveur's best few, so "cuisto" finds
#: cooks and kitchen helpers without drifting into every food trade.
RESOLVED_FAMILIES = 3
PLURAL = {"formation": "formations", "offer": "offers", "company": "companies"}
#: Deepest result reachable by paging (page × page_size), as public search engines cap it: the
#: engine ranks the best page × page_size of each kind, so a deeper page would cost ever more
#: for results nobody reads. Beyond it a request is a 400 that says how to narrow the search.
MAX_RESULT_DEPTH = 1000


class PageTooDeep(ValueError):
    """The asked page lies beyond MAX_RESULT_DEPTH results."""


class UnknownRome(LookupError):
    """Some asked ROME codes are not in the referential."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(", ".join(codes))
        self.codes = codes


class TextNotAvailable(LookupError):
    """A free-text job was asked but no résolveur is configured."""


class NoJobForText(LookupError):
    """The free text means no job the referential knows."""


class RomeResolver(Protocol):
    """Turns free text into ranked ROME codes (the métier résolution service)."""

    def __call__(self, q: str, limit: int = 10) -> Sequence[Any]: ...


@dataclass(frozen=True)
class MatchService:
    """Everything a match needs; built once by the app factory."""

    engine: SearchEngine
    refs: Referentials
    weights: Weights
    resolver: RomeResolver | None = None
    today: Callable[[], date] = date.today
    #: Short hash of the weights file in use (app/services/live_weights.py), named in logs and explain.
    weights_version: str = "default"

    def match(self, params: dict[str, Any]) -> dict[str, Any]:
        """Answer a match request (`params` as loaded by MatchRequestSchema)."""
        if params["page"] * params["page_size"] > MAX_RESULT_DEPTH:
            raise PageTooDeep(params["page"], params["page_size"])
        romes, text_place = self._romes(params)
        place = resolve_place(self.refs.communes, latitude=params.get("latitude"),
                              longitude=params.get("longitude"), insee=params.get("insee"),
                              postcode=params.get("postcode"))
        notes = []
        if place is None and text_place is not None:
            # "cap cuisine à Paris" with no place parameter: the commune named in q is the place.
            place = ResolvedPlace(text_place.latitude, text_place.longitude, text_place.name, text_place.insee)
            notes.append({"code": "place_from_text", "message": f"Lieu lu dans le texte : {text_place.name} "
                                                               f"(code INSEE {text_place.insee})."})
        radius = float(params["radius"])
        kinds = tuple(params["kinds"])
        page, page_size, sort = params["page"], params["page_size"], params.get("sort", "relevance")
        query, ctx, ranked = self._run(romes, place, radius, kinds, params, sort, page, page_size)
        widened_from = None
        # `widen=False` (the v3 contract: asked 20 km, nothing beyond 20 km) keeps the asked radius.
        while params.get("widen", True) and place is not None and not sum(ranked.totals.values()) \
                and query.radius_km < WIDEN_MAX_KM:
            widened_from = widened_from or radius
            query, ctx, ranked = self._run(romes, place, min(query.radius_km + WIDEN_STEP_KM, WIDEN_MAX_KM),
                                           kinds, params, sort, page, page_size)
        if all(hit.rank_score is not None for hit in ranked.hits):
            # The engine computed the formula's totals (its tests prove them equal to score()'s):
            # order by them and score in full only the page shown, for the explain view.
            ordered = rank_by_totals(((hit, hit.rank_score) for hit in ranked.hits), ctx)  # type: ignore[misc]
        else:
            ordered = rank(ranked.hits, ctx, self.weights)
        scored = with_components(blend(ordered, ctx, page, page_size, self.weights), ctx, self.weights)
        items = self._items(scored, bool(params.get("explain")))
        total = sum(ranked.totals.values())
        return {
            "items": items,
            "totals": {PLURAL[kind]: ranked.totals.get(kind, 0) for kind in kinds},
            "total": total,
            "facets": _facets(ranked, kinds),
            "romes": [{"code": code, "label": self.refs.rome.codes[code].label} for code in romes],
            "place": None if place is None else {"label": place.label, "latitude": place.latitude,
                                                 "longitude": place.longitude, "insee": place.insee or None},
            "radius_km": query.radius_km if place else None,
            "sort": sort,
            "page": page,
            "page_size": page_size,
            "pages": math.ceil(total / page_size) if total else 0,
            "warnings": notes + ([] if widened_from is None else [{
                "code": "radius_widened",
                "message": f"Aucun résultat à {widened_from:g} km : rayon élargi à {query.radius_km:g} km."}]),
        }

    def _romes(self, params: dict[str, Any]) -> tuple[list[str], Any]:
        """The ROME codes searched, and the commune the free text names (None when romes are given)."""
        if params.get("romes"):
            romes = list(dict.fromkeys(params["romes"]))
            unknown = [code for code in romes if code not in self.refs.rome]
            if unknown:
                raise UnknownRome(unknown)
            return romes, None
        if self.resolver is None:
            raise TextNotAvailable(params.get("q", ""))
        matches = self.resolver(params["q"], limit=RESOLVED_FAMILIES)
        if not matches:
            raise NoJobForText(params["q"])
        # Parent codes: the résolveur's best code is often a ROME 4.0 child (M1855 for "dev web"), and
        # searching the parent also finds documents coded with its siblings (M1805...).
        place = getattr(matches, "place", None)
        return list(dict.fromkeys(match.parent for match in matches)), place.commune if place else None

    def _run(self, romes: list[str], place: ResolvedPlace | None, radius: float, kinds: tuple[str, ...],
             params: dict[str, Any], sort: str, page: int,
             page_size: int) -> tuple[MatchQuery, RankingContext, RankedCandidates]:
        query = MatchQuery(
            romes=tuple(romes), latitude=place.latitude if place else None,
            longitude=place.longitude if place else None, radius_km=radius, kinds=kinds,
            diploma_level=params.get("diploma"),
            contract_types=(params["contract"],) if params.get("contract") else (),
            text=params.get("q", ""),
            # Filters of the v3 adapter, applied by the engine before totals and ranking.
            departments=tuple(params.get("departments", ())), opcos=tuple(params.get("opcos", ())),
            exclude_opcos=tuple(params.get("exclude_opcos", ())),
            exclude_sources=tuple(params.get("exclude_sources", ())),
            page_size=None,
        )
        ctx = RankingContext(radius_km=radius, today=self.today(), has_text=bool(query.text), sort=sort,
                             kinds=kinds)
        specs = {kind: linear_spec(kind, query.located, ctx, self.weights) for kind in kinds}
        # The first page*page_size items of the blended order are page-1 quota picks (a kind's best few)
        # or items of the global top page*page_size: all among their own kind's best page*page_size.
        limit = page * page_size + RANK_MARGIN
        return query, ctx, self.engine.rank(query, specs, sort, limit)

    def _items(self, scored: list[Any], with_explain: bool) -> list[dict[str, Any]]:
        docs: dict[tuple[str, str], dict[str, Any]] = {}
        for kind in KINDS:
            ids = [s.candidate.id for s in scored if s.candidate.kind == kind]
            if ids:
                docs.update({(kind, i): d for i, d in self.engine.get_many(kind, ids).items()})
        items = []
        for entry in scored:
            hit = entry.candidate
            doc = docs.get((hit.kind, hit.id))
            if doc is None:  # deleted between ranking and fetching: skip rather than fail
                continue
            item = public_item(doc, hit.distance_km)
            item["score"] = round(entry.total, 6)
            if with_explain:
                item["explain"] = {**explain(entry), "weights_version": self.weights_version}
            items.append(item)
        return items


def _facets(ranked: RankedCandidates, kinds: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Facets over the whole result set: kinds, diploma levels, contract types, distance bands."""
    out: dict[str, dict[str, int]] = {"kinds": {PLURAL[k]: ranked.totals.get(k, 0) for k in kinds},
                                      "diploma": {}, "contract": {}, "distance": {}}
    for kind in kinds:
        for name in ("diploma", "contract", "distance"):
            for value, count in ranked.facets.get(kind, {}).get(name, {}).items():
                out[name][value] = out[name].get(value, 0) + count
    for name in ("diploma", "contract", "distance"):
        out[name] = dict(sorted(out[name].items()))
    return out
