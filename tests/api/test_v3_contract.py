"""v3 against the public contract: optional romes, rncp through the catalogue, Bearer keys, no silent widening,
links built on LBA_PUBLIC_BASE_URL whatever the Host header says."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import date

import pytest

from app.factory import create_app
from app.search.contract import MatchQuery
from app.search.embedded import EmbeddedEngine
from app.search.geo import distance_km
from app.services.partners import create_key
from mappings import formation
from mappings.common import Place
from tests.api.conftest import CODES
from tests.api.test_v3 import LYON, SEARCH, hand_made_documents
from tests.factories import make_documents

PUBLIC = "https://labonnealternance.example.fr"
RNCP_DEV = "RNCP31114"  # a certification whose formations lead to M1805 (and one to M1855)
RNCP_BAKER = "RNCP12345"


def _formation(refs, key: str, rncp: str, romes: list[str]) -> dict:
    return formation.to_document(formation.Formation(
        key=key, title=f"Formation {key}", romes=romes, rome_index_codes=refs.rome.index_codes(romes),
        place=Place(45.76, 4.83, city="Lyon", postcode="69002", department="69"), rncp_code=rncp,
        rncp_label=f"Titre {rncp}"))


@pytest.fixture(scope="module")
def documents(refs):
    today = date.today()
    return (make_documents(refs, 900, seed=12, codes=CODES, today=today) + hand_made_documents(refs, today)
            + [_formation(refs, "RF1", RNCP_DEV, ["M1805"]), _formation(refs, "RF2", RNCP_DEV, ["M1805"]),
               _formation(refs, "RF3", RNCP_DEV, ["M1855"]), _formation(refs, "RF4", RNCP_BAKER, ["D1102"]),
               _formation(refs, "RF5", "pas un code", ["K2204"])])


@pytest.fixture(scope="module")
def app(api_settings, engine):
    app = create_app(replace(api_settings, public_base_url=PUBLIC), engine=engine)
    app.config.update(TESTING=True)
    return app


def _get(client, query: str, **kwargs) -> dict:
    response = client.get(f"{SEARCH}?{query}", **kwargs)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _coordinates(entry: dict) -> tuple[float, float]:
    lon, lat = entry["workplace"]["location"]["geopoint"]["coordinates"]
    return lat, lon


# --- romes optional ---------------------------------------------------------------------------------

def test_a_place_alone_searches_every_job_within_the_radius(client):
    body = _get(client, f"{LYON}&radius=60")
    romes = {code for job in body["jobs"] for code in job["offer"]["rome_codes"]}
    assert len(romes) >= 3  # several jobs, not one family
    assert body["jobs"] and body["recruiters"]
    for entry in body["jobs"] + body["recruiters"]:
        assert distance_km(45.764, 4.8357, *_coordinates(entry)) <= 60.0 + 1e-6
    # Every job means at least what any single code finds.
    one = _get(client, f"romes=D1102&{LYON}&radius=60")
    ids = {j["identifier"]["id"] for j in body["jobs"]}
    assert {j["identifier"]["id"] for j in one["jobs"]} <= ids or len(ids) == 150


def test_empty_romes_is_their_null(client):
    assert _get(client, f"romes=&{LYON}&radius=30") == _get(client, f"{LYON}&radius=30")


# --- rncp → ROME codes through the formations ---------------------------------------------------------

def test_rncp_is_resolved_through_the_indexed_formations(client):
    by_rncp = _get(client, f"rncp={RNCP_DEV}&{LYON}&radius=200")
    by_romes = _get(client, f"romes=M1805,M1855&{LYON}&radius=200")
    assert by_rncp == by_romes and by_rncp["jobs"]
    baker = _get(client, f"rncp={RNCP_BAKER}&{LYON}&radius=200")
    assert baker == _get(client, f"romes=D1102&{LYON}&radius=200")
    both = _get(client, f"rncp={RNCP_BAKER}&romes=M1805&{LYON}&radius=200")
    assert both == _get(client, f"romes=M1805,D1102&{LYON}&radius=200")
    # Without a place too: the certification says what the job is.
    assert _get(client, f"rncp={RNCP_BAKER}")["jobs"]


def test_an_unknown_rncp_is_a_400_naming_it(client):
    response = client.get(f"{SEARCH}?rncp=RNCP99999&{LYON}")
    assert response.status_code == 400
    assert list(response.get_json()["error"]["details"]) == ["rncp"]


def test_the_certification_table_counts_codes_and_follows_new_generations(refs, tmp_path):
    from app.services.certifications import Certifications, UnknownCertification
    engine = EmbeddedEngine(tmp_path / "index")
    with engine.new_generation("formation") as builder:
        builder.add([_formation(refs, "A", RNCP_DEV, ["M1805"]), _formation(refs, "B", RNCP_DEV, ["M1855"]),
                     _formation(refs, "C", RNCP_DEV, ["M1805"])])
    now = [0.0]
    table = Certifications(engine, lambda: refs.rome.parents, clock=lambda: now[0])
    assert table.romes(RNCP_DEV) == ["M1805", "M1855"]  # most formations first
    with pytest.raises(UnknownCertification):
        table.romes(RNCP_BAKER)
    with engine.new_generation("formation") as builder:
        builder.add([_formation(refs, "D", RNCP_BAKER, ["D1102"])])
    assert table.romes(RNCP_DEV)  # checked again only after CHECK_SECONDS
    now[0] = 3600.0
    assert table.romes(RNCP_BAKER) == ["D1102"]
    with pytest.raises(UnknownCertification):
        table.romes(RNCP_DEV)


# --- Bearer: their security scheme ----------------------------------------------------------------------

def test_bearer_token_is_the_partner_key(app, client, caplog):
    _, key = create_key(app.extensions["lba.store"], "Partenaire Bearer")
    caplog.set_level(logging.INFO, logger="lba.api_calls")
    for headers in ({"Authorization": f"Bearer {key}"}, {"Authorization": f"bearer  {key}"},
                    {"Authorization": key}, {"X-API-Key": key}):
        caplog.clear()
        assert client.get(f"{SEARCH}?romes=D1102&{LYON}", headers=headers).status_code == 200
        callers = [json.loads(r.getMessage())["caller"] for r in caplog.records if r.name == "lba.api_calls"]
        assert callers and callers[-1].endswith(":Partenaire Bearer"), headers
    # A wrong token is refused, never served as anonymous.
    wrong = client.get(f"{SEARCH}?romes=D1102&{LYON}", headers={"Authorization": "Bearer lba_nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_api_key"
    # Another scheme is not ours: anonymous.
    assert client.get(f"{SEARCH}?romes=D1102&{LYON}", headers={"Authorization": "Basic dTpw"}).status_code == 200


# --- no silent widening ---------------------------------------------------------------------------------

def _lonely_point(engine, refs) -> tuple[float, float]:
    """A commune with no D1102 offer or company within 20 km but some within 100 km (where ours widened)."""
    hits = list(engine.iter_candidates(MatchQuery(romes=("D1102",), kinds=("offer", "company"), page_size=None)))
    for commune in list(refs.communes)[::37]:
        nearest = min(distance_km(commune.latitude, commune.longitude, h.latitude, h.longitude) for h in hits)
        if 25.0 < nearest < 80.0:
            return commune.latitude, commune.longitude
    raise AssertionError("no lonely commune in the test data")


def test_the_radius_is_never_widened(client, engine, refs):
    lat, lon = _lonely_point(engine, refs)
    body = _get(client, f"romes=D1102&latitude={lat}&longitude={lon}&radius=20")
    assert body == {"jobs": [], "recruiters": [], "warnings": []}
    wide = _get(client, f"romes=D1102&latitude={lat}&longitude={lon}&radius=100")
    assert wide["jobs"] or wide["recruiters"]
    for entry in wide["jobs"] + wide["recruiters"]:
        assert distance_km(lat, lon, *_coordinates(entry)) <= 100.0 + 1e-6
    assert len({w["code"] for w in wide["warnings"]}) == len(wide["warnings"])  # no warning twice


# --- links: configured base URL, candidate pages ---------------------------------------------------------

def test_links_ignore_the_host_header_and_point_to_candidate_pages(client):
    body = client.get(f"{SEARCH}?romes=D1102&{LYON}&radius=60", headers={"Host": "evil.example"},
                      base_url="http://evil.example").get_data(as_text=True)
    assert "evil.example" not in body
    answer = json.loads(body)
    assert answer["recruiters"]
    for recruiter in answer["recruiters"]:
        siret = recruiter["workplace"]["siret"]
        assert recruiter["apply"]["url"] == f"{PUBLIC}/entreprises/{recruiter['identifier']['id']}"
        assert siret is None or recruiter["identifier"]["id"] == siret
    ours = [j for j in answer["jobs"] if j["apply"]["url"].startswith(PUBLIC)]
    assert ours and all(j["apply"]["url"] == f"{PUBLIC}/offres/{j['identifier']['id']}" for j in ours)
    assert "/api/" not in body.replace("/api/v", "")  # no JSON endpoint given as a page


def test_public_url_builders_quote_ids():
    from app.services.public_urls import company_page, detail_page, formation_page, offer_page
    assert offer_page(PUBLIC + "/", "france_travail-1/../x") == f"{PUBLIC}/offres/france_travail-1%2F..%2Fx"
    assert company_page(PUBLIC, "12345678900011") == f"{PUBLIC}/entreprises/12345678900011"
    assert formation_page(PUBLIC, "24_1#x") == f"{PUBLIC}/formations/24_1%23x"
    assert detail_page(PUBLIC, "formation", "F1") == f"{PUBLIC}/formations/F1"
    with pytest.raises(ValueError):
        detail_page(PUBLIC, "metier", "x")


def test_public_base_url_is_validated():
    from app.config import ConfigError, Settings
    assert Settings.from_env({"LBA_PUBLIC_BASE_URL": "https://lba.example.fr/"}).public_base_url == \
        "https://lba.example.fr"
    assert Settings.from_env({}).public_base_url == "http://localhost:8000"
    for bad in ("lba.example.fr", "javascript:alert(1)", "https://lba.example.fr/?x=1", "https://a b"):
        with pytest.raises(ConfigError, match="LBA_PUBLIC_BASE_URL"):
            Settings.from_env({"LBA_PUBLIC_BASE_URL": bad})

