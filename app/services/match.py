"""The match service: a validated request in, the nearest formations, offers and companies out."""
from __future__ import annotations

from typing import Any

from app.referentials import Referentials
from app.search.contract import MatchQuery, SearchEngine
from app.services.items import public_item
from app.services.places import resolve_place


class UnknownRome(LookupError):
    """Some asked ROME codes are not in the referential."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(", ".join(codes))
        self.codes = codes


def match(engine: SearchEngine, refs: Referentials, params: dict[str, Any]) -> dict[str, Any]:
    """Nearest results first, one page, with totals per kind. `params` comes from MatchRequestSchema."""
    unknown = [code for code in params["romes"] if code not in refs.rome]
    if unknown:
        raise UnknownRome(unknown)
    place = resolve_place(refs.communes, latitude=params.get("latitude"), longitude=params.get("longitude"),
                          insee=params.get("insee"), postcode=params.get("postcode"))
    query = MatchQuery(
        romes=tuple(params["romes"]),
        latitude=place.latitude if place else None,
        longitude=place.longitude if place else None,
        radius_km=params["radius"],
        kinds=tuple(params["kinds"]),
        diploma_level=params.get("diploma"),
        contract_types=(params["contract"],) if params.get("contract") else (),
        page=params["page"],
        page_size=params["page_size"],
    )
    result = engine.search(query)
    documents: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in query.kinds:
        ids = [h.id for h in result.hits if h.kind == kind]
        if ids:
            documents.update({(kind, doc_id): doc for doc_id, doc in engine.get_many(kind, ids).items()})
    items = [public_item(documents[(h.kind, h.id)], h.distance_km) for h in result.hits
             if (h.kind, h.id) in documents]
    return {
        "items": items,
        "totals": {f"{kind}s" if kind != "company" else "companies": result.totals.get(kind, 0)
                   for kind in query.kinds},
        "romes": list(query.romes),
        "place": None if place is None else {"label": place.label, "latitude": place.latitude,
                                             "longitude": place.longitude, "insee": place.insee or None},
        "radius_km": query.radius_km if place else None,
        "page": query.page,
        "page_size": query.page_size,
    }
