"""A commune named inside a job query: detected with its INSEE code, and cut from the job text."""
from __future__ import annotations

import pytest

from app.metiers.places import find_place


@pytest.mark.parametrize("query, insee, job", [
    ("apprenti électricien sur Lyon", "69123", "apprenti electricien"),
    ("cap cuisine à Paris", "75056", "cap cuisine"),
    ("cap cuisine en alternance à Paris", "75056", "cap cuisine en alternance"),
    ("apprentie fleuriste près de Nantes", "44109", "apprentie fleuriste"),
    ("boulanger vers Saint-Étienne", "42218", "boulanger"),
    ("coiffeuse 69003", "69123", "coiffeuse"),
    ("mécanicien à Marseille en alternance", "13055", "mecanicien en alternance"),
])
def test_place_in_text_is_found(refs, query, insee, job):
    place = find_place(refs.communes, query)
    assert place is not None and place.commune.insee == insee
    assert place.job_text == job


@pytest.mark.parametrize("query", ["aide à domicile", "cap cuisine", "travail sur mesure", "vendeur en boulangerie",
                                   "Paris", "à Lyon", "agent de sécurité", "conducteur de bus"])
def test_no_place_where_there_is_none(refs, query):
    assert find_place(refs.communes, query) is None


def test_resolver_returns_the_place_beside_the_jobs(lexical_index):
    resolution = lexical_index.resolve("apprenti électricien sur Lyon")
    assert resolution.place is not None and resolution.place.commune.insee == "69123"
    assert resolution[0].parent in {"F1602", "H1209"}
    assert lexical_index.resolve("cap cuisine à Paris").place.commune.name == "Paris"
    assert lexical_index.resolve("cap cuisine à Paris")[0].parent == "G1602"
    assert lexical_index.resolve("électricien").place is None
