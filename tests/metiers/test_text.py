"""Folding, tokens and light stemming of job texts."""
from __future__ import annotations

import pytest

from app.metiers.text import fold, stem, tokens


@pytest.mark.parametrize("text, expected", [
    ("Aide-Soignante", "aide soignante"),
    ("Pâtissière", "patissiere"),
    ("d'ÉLEVAGE", "d elevage"),
    ("  Œnologue  ", "oenologue"),
    ("Chef / Cheffe de rang", "chef cheffe de rang"),
])
def test_fold_removes_accents_case_and_punctuation(text, expected):
    assert fold(text) == expected


def test_tokens_drop_function_words_only():
    assert tokens("Agent / Agente d'entretien des espaces verts") == ["agent", "agente", "entretien", "espaces",
                                                                       "verts"]
    assert tokens("je veux travailler avec des animaux") == ["veux", "travailler", "animaux"]


@pytest.mark.parametrize("feminine, masculine", [
    ("boulangere", "boulanger"), ("conductrice", "conducteur"), ("coiffeuse", "coiffeur"),
    ("electricienne", "electricien"), ("soignante", "soignant"), ("cheffe", "chef"), ("agente", "agent"),
    ("commerciale", "commercial"), ("avocate", "avocat"), ("animaux", "animal"), ("infirmieres", "infirmier"),
])
def test_stem_joins_gender_and_number(feminine, masculine):
    assert stem(feminine) == stem(masculine)


def test_stem_keeps_short_and_distinct_words():
    assert stem("vente") != stem("vent")
    assert stem("bus") == "bus"
    assert stem("commis") == "commis"
