"""Department, OPCO and partner filters run inside both engines, so the v3 adapter's results are complete."""
from __future__ import annotations

from datetime import date, timedelta

from app.search.contract import KINDS, MatchQuery
from app.services.match import MatchService
from app.services.v3_adapter import AdapterContext, Filters, opco_spellings, search
from mappings import offer
from mappings.common import Place
from ranking import DEFAULT_WEIGHTS

TODAY = date.today()
LYON = (45.764, 4.8357)
NEAR, FAR = 400, 7  # offers in the Rhône near the point, and a few in the Ain further away


def _offers(refs) -> list[dict]:
    docs = []
    for i in range(NEAR + FAR):
        far = i >= NEAR
        lat = LYON[0] + (0.17 if far else 0.002 * (i % 10))  # the Ain ones ~19 km north: ranked last
        place = Place(lat, LYON[1], city="Bourg" if far else "Lyon", postcode="01400" if far else "69003",
                      department="01" if far else "69")
        record = offer.Offer(
            source="deposited" if far and i % 2 else "france_travail", source_id=f"O{i:04d}", title=f"Offre {i}",
            romes=["D1102"], rome_index_codes=refs.rome.index_codes(["D1102"]), place=place,
            published_at=(TODAY - timedelta(days=3)).isoformat(), expires_at=(TODAY + timedelta(days=40)).isoformat(),
            contract_types=["apprentissage"], company_name=f"Entreprise {i}",
            company_opco="Opco Santé" if far else "ATLAS")
        docs.append(offer.to_document(record))
    return docs


def _publish(engine, docs) -> None:
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add(d for d in docs if d["kind"] == kind)


def test_engine_applies_department_opco_and_source_filters(engine, refs):
    docs = _offers(refs)
    _publish(engine, docs)
    base = MatchQuery(romes=("D1102",), latitude=LYON[0], longitude=LYON[1], radius_km=30, kinds=("offer",),
                      page_size=None)
    far = {d["id"] for d in docs if d["place"]["department"] == "01"}
    cases = [
        (dict(departments=("01",)), far),
        (dict(departments=("69", "01")), {d["id"] for d in docs}),
        (dict(departments=("014",)), far),  # a postcode prefix
        (dict(opcos=("opco santé",)), far),  # case-insensitive
        (dict(exclude_opcos=("ATLAS",)), far),
        (dict(opcos=("",)), set()),
        (dict(exclude_sources=("france_travail",)), {d["id"] for d in docs if d["source"] == "deposited"}),
        (dict(departments=("01",), exclude_sources=("deposited",)),
         {d["id"] for d in docs if d["id"] in far and d["source"] == "france_travail"}),
    ]
    for extra, expected in cases:
        query = MatchQuery(**{**base.__dict__, **extra})
        result = engine.search(query)
        assert {h.id for h in result.hits} == expected, extra
        assert result.totals["offer"] == len(expected), extra


def test_v3_filters_return_every_match_beyond_the_first_pages(engine, refs):
    _publish(engine, _offers(refs))
    service = MatchService(engine, refs, DEFAULT_WEIGHTS)
    ctx = AdapterContext(base_url="http://test/", opco_labels=opco_spellings(refs.opcos))
    params = {"romes": ["D1102"], "latitude": LYON[0], "longitude": LYON[1], "radius": 30.0}
    by_department = search(service.match, params, Filters(departements=("01",)), ctx)
    assert len(by_department["jobs"]) == FAR  # ranked after the 400 Rhône offers, still all found
    assert {j["workplace"]["location"]["address"].split()[-1] for j in by_department["jobs"]} == {"Bourg"}
    by_opco = search(service.match, params, Filters(opco="Opco Santé"), ctx)
    assert len(by_opco["jobs"]) == FAR
    unknown = search(service.match, params, Filters(opco="inconnu"), ctx)
    assert unknown["jobs"] == []
    without_ft = search(service.match, params, Filters(departements=("01",), partners_to_exclude=frozenset(
        {"France Travail"})), ctx)
    assert len(without_ft["jobs"]) == FAR // 2 and all(
        j["identifier"]["partner_label"] == "offres_emploi_lba" for j in without_ft["jobs"])
