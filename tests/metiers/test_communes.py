"""Place autocomplete: accents, "st"/"saint", hyphens, postal and INSEE codes, arrondissements, ambiguity."""
from __future__ import annotations

import pytest

from app.services.communes import CommuneSearch, place_key


@pytest.fixture(scope="module")
def search(refs) -> CommuneSearch:
    return CommuneSearch(refs.communes)


def names(search, query, n=1):
    return [p.commune.name for p in search.search(query)][:n]


@pytest.mark.parametrize("text, key", [
    ("Saint-Étienne", "saint etienne"), ("st etienne", "saint etienne"), ("ste maxime", "sainte maxime"),
    ("Paris 3e Arrondissement", "paris 3"), ("paris 3eme arr", "paris 3"), ("Lyon 1er", "lyon 1"),
])
def test_place_key(text, key):
    assert place_key(text) == key


@pytest.mark.parametrize("query", ["st etienne", "saint-étienne", "SAINT ETIENNE", "st-etienne", "saint étienne"])
def test_names_with_or_without_accents_saint_and_hyphens(search, query):
    assert names(search, query) == ["Saint-Étienne"]


def test_postal_code_lists_the_arrondissement_then_the_city(search):
    found = search.search("69003")
    assert [p.commune.insee for p in found[:2]] == ["69383", "69123"]
    assert "69003" in found[0].commune.postcodes


@pytest.mark.parametrize("query, insee", [
    ("paris 3", "75103"), ("Paris 3e", "75103"), ("paris 3eme arrondissement", "75103"), ("75003", "75103"),
    ("lyon 7e", "69387"), ("marseille 13", "13213"), ("13013", "13213"),
])
def test_arrondissements(search, query, insee):
    assert search.search(query)[0].commune.insee == insee


def test_started_postal_code_gives_the_largest_places(search):
    found = search.search("750")
    assert found[0].commune.name == "Paris"
    assert all(p.commune.department == "75" for p in found)


@pytest.mark.parametrize("query, insee", [("2A004", "2A004"), ("2a004", "2A004"), ("75056", "75056")])
def test_insee_codes(search, query, insee):
    assert search.search(query)[0].commune.insee == insee


def test_ambiguous_text_puts_larger_places_first(search):
    found = search.search("saint denis")
    populations = [p.commune.population for p in found[:2]]
    assert {p.commune.name for p in found[:2]} == {"Saint-Denis"}
    assert populations == sorted(populations, reverse=True)
    assert names(search, "aix") == ["Aix-en-Provence"]
    assert names(search, "saint")[0] in {"Saint-Étienne", "Saint-Denis"}


@pytest.mark.parametrize("query, name", [("marseile", "Marseille"), ("bordeau", "Bordeaux"),
                                         ("montpelier", "Montpellier"), ("etienne", "Saint-Étienne")])
def test_typos_and_inner_words(search, query, name):
    assert names(search, query) == [name]


def test_limits_and_empty_input(search):
    assert len(search.search("saint", limit=10)) == 10
    assert search.search("") == []
    assert search.search("   ") == []
    assert search.search("x" * 200) == []


def test_answer_shape(search):
    body = search.search("lyon")[0].to_dict()
    assert body["insee"] == "69123" and body["kind"] == "commune"
    assert body["department"] == {"code": "69", "name": "Rhône"}
    assert "69003" in body["postcodes"] and 45 < body["latitude"] < 46 and 0 < body["score"] <= 1
