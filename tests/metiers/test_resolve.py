"""Free text to ROME codes and job-title suggestions: folding, typos, slang, intents, limits."""
from __future__ import annotations

import pytest

from app.metiers.text import MAX_QUERY_CHARS


def parents(index, query, n=1):
    return [m.parent for m in index.resolve(query)][:n]


@pytest.mark.parametrize("query, parent", [
    ("boulanger", "D1102"), ("BOULANGÈRE", "D1102"), ("aide-soignante", "J1501"), ("aide soignante", "J1501"),
    ("Mécanicien automobile", "I1604"), ("chef de rang", "G1803"), ("chauffagiste", "F1603"),
])
def test_titles_resolve_whatever_the_case_accents_and_hyphens(lexical_index, query, parent):
    assert parents(lexical_index, query) == [parent]


@pytest.mark.parametrize("query, parent", [
    ("boulanjer", "D1102"), ("boulangre", "D1102"), ("infirmiére", "J1506"), ("plombié", "F1603"),
    ("aidesoignante", "J1501"), ("maconerie", "F1703"), ("esthéticiene", "D1208"),
])
def test_typos_and_glued_words(lexical_index, query, parent):
    assert parents(lexical_index, query) == [parent]


@pytest.mark.parametrize("query, parent", [
    ("boulang", "D1102"), ("infirm", "J1506"), ("plomb", "F1603"), ("carrel", "F1608"),
])
def test_prefixes(lexical_index, query, parent):
    assert parents(lexical_index, query) == [parent]


@pytest.mark.parametrize("query, parent", [
    ("cuisto", "G1602"), ("dev web", "M1805"), ("compta", "M1203"), ("RH", "M1501"), ("PL", "N4101"),
    ("VTC", "N4102"), ("CACES", "N1101"), ("BAFA", "G1203"), ("nounou", "K1303"), ("éduc spé", "K1207"),
    ("manut", "N1105"), ("mécano", "I1604"), ("fast-food", "G1603"), ("immo", "C1504"),
])
def test_slang_and_abbreviations(lexical_index, query, parent):
    assert parents(lexical_index, query) == [parent]


def test_intent_sentence(lexical_index):
    top = parents(lexical_index, "je veux travailler avec des animaux", 3)
    assert set(top) <= {"A1501", "A1503", "A1504", "A1408", "A1511", "D1210", "A1403"}


def test_rome_code_is_understood(lexical_index):
    (match,) = lexical_index.resolve("d1108")
    assert (match.code, match.parent, match.score) == ("D1108", "D1102", 1.0)


def test_at_least_five_families_when_anything_matches(lexical_index, full_index):
    for index in (lexical_index, full_index):
        result = index.resolve("boulanger")
        assert len(result) >= 5
        assert len({m.parent for m in result}) == len(result)  # one line per family
        assert [m.score for m in result] == sorted((m.score for m in result), reverse=True)


@pytest.mark.parametrize("query", ["", "   ", "!!!", "de la"])
def test_empty_queries_mean_nothing(lexical_index, query):
    assert lexical_index.resolve(query) == []
    assert lexical_index.suggest(query) == []


def test_gibberish_matches_nothing(lexical_index, full_index):
    assert lexical_index.resolve("xqzwv") == []
    assert full_index.resolve("xqzwv kjhgf") == []


def test_long_input_is_cut_and_fast(lexical_index, full_index):
    text = ("je cherche une alternance de boulanger pâtissier près de chez moi " * 4)[:MAX_QUERY_CHARS]
    assert len(text) == MAX_QUERY_CHARS
    for index in (lexical_index, full_index):
        assert parents(index, text) == ["D1102"]
        assert parents(index, text * 10) == ["D1102"]


def test_suggestions_are_titles_with_codes(lexical_index):
    suggestions = lexical_index.suggest("boulang")
    assert 1 <= len(suggestions) <= 20
    first = suggestions[0]
    assert (first.label, first.rome, first.parent) == ("Boulanger / Boulangère", "D1102", "D1102")
    assert first.appellation_code and 0 < first.score <= 1
    assert len({s.label for s in suggestions}) == len(suggestions)


def test_suggestions_for_slang_show_the_real_title(lexical_index):
    labels = [s.label for s in lexical_index.suggest("cuisto")[:3]]
    assert "Cuisinier / Cuisinière" in labels


def test_semantic_side_is_on_in_the_app_index(full_index):
    assert full_index.semantic
    assert parents(full_index, "je veux travailler avec des animaux")[0].startswith("A1")


def test_unknown_words_are_corrected_to_the_closest_indexed_word(lexical_index):
    assert lexical_index.lexical.correct("electricein") == "electricien"
    assert lexical_index.lexical.correct("boulanger") == "boulanger"  # known words are left alone
    assert lexical_index.lexical.correct("zqxwvk") == "zqxwvk"  # nothing close: unchanged
    assert lexical_index._analyse("coifeuse").embed_text == "coiffeuse"


@pytest.mark.parametrize("query, parent", [("ambulencier", "J1305"), ("menuisiere", "H2206")])
def test_misspelt_titles_resolve_through_their_correction(lexical_index, query, parent):
    assert parents(lexical_index, query) == [parent]
