"""The hand-written synonym list: validation and slang-only rewriting."""
from __future__ import annotations

import pytest

from app.metiers.synonyms import Rewriter, Synonym, load_synonyms
from app.referentials import ReferenceDataError


def test_list_is_large_and_valid(refs):
    synonyms = load_synonyms(refs.rome.codes)
    assert len(synonyms) >= 500
    domains = {code[0] for s in synonyms for code in s.romes}
    assert domains >= set("ABCDEFGHIJKLMN")  # every grand domaine has slang


def test_unknown_code_is_refused(tmp_path, refs):
    path = tmp_path / "syn.csv"
    path.write_text("terme,codes_rome,equivalent\ncuisto,Z9999,cuisinier\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="Z9999"):
        load_synonyms(refs.rome.codes, path)


def test_comment_lines_are_skipped(tmp_path, refs):
    path = tmp_path / "syn.csv"
    path.write_text("terme,codes_rome,equivalent\n# a comment, with commas\nnounou,K1310,\n", encoding="utf-8")
    assert [s.term for s in load_synonyms(refs.rome.codes, path)] == ["nounou"]


def test_rewriter_replaces_slang_but_not_real_title_words():
    synonyms = [Synonym("dev", ("dev",), (), ("developpeur",)),
                Synonym("educ spe", ("educ", "spe"), (), ("educateur", "specialise")),
                Synonym("bois", ("bois",), (), ("menuisier",))]
    rewriter = Rewriter(synonyms, known_words={"bois", "charpentier", "web"})
    assert rewriter.rewrite(["dev", "web"]) == ["developpeur", "web"]
    assert rewriter.rewrite(["educ", "spe"]) == ["educateur", "specialise"]
    assert rewriter.rewrite(["charpentier", "bois"]) == ["charpentier", "bois"]


def test_english_lexicon_loads_with_the_french_list(refs):
    from app.metiers.synonyms import ENGLISH_PATH

    english = load_synonyms(refs.rome.codes, ENGLISH_PATH)
    assert len(english) >= 300
    assert all(s.translation and s.equivalent for s in english)
    everything = load_synonyms(refs.rome.codes)
    assert {s.term for s in english} <= {s.term for s in everything}


def test_translations_are_rewritten_unless_they_are_referential_titles():
    synonyms = [Synonym("software engineer", ("software", "engineer"), (), ("developpeur", "informatique"), True),
                Synonym("data engineer", ("data", "engineer"), (), ("ingenieur", "donnees"), True)]
    rewriter = Rewriter(synonyms, known_words={"software", "engineer", "data"}, known_titles={"data engineer"})
    assert rewriter.rewrite(["software", "engineer"]) == ["developpeur", "informatique"]
    assert rewriter.rewrite(["data", "engineer"]) == ["data", "engineer"]


@pytest.mark.parametrize("query, code", [
    ("truck driver", "N4101"), ("hairdresser", "D1202"), ("nursing assistant", "J1501"),
    ("forklift operator", "N1101"), ("web developer", "M1855"), ("accountant", "M1203"),
])
def test_english_titles_resolve_to_their_french_job(lexical_index, query, code):
    assert [m.code for m in lexical_index.resolve(query)][:1] == [code]


def test_activity_list_loads_and_reads_terms_as_job_words():
    from app.metiers.synonyms import load_activities, read_activities

    activities = load_activities()
    assert len(activities) >= 100
    assert activities[("salle", "bain")] == ("plombier",)  # stop words are left out of terms
    assert read_activities(["reparer", "salle", "bain"], activities) == ["reparer", "plombier"]
    assert read_activities(["aime", "cheveux"], activities, keep=lambda w: w != "aime") == ["coiffeur"]
    assert read_activities(["boulanger"], {("pain",): ("boulanger",)}) is None


def test_activity_list_refuses_a_row_without_job_words(tmp_path):
    from app.metiers.synonyms import load_activities

    path = tmp_path / "act.csv"
    path.write_text("terme,equivalent\nviande,\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="row 2"):
        load_activities(path)


@pytest.mark.parametrize("query, code", [
    ("travailler avec les cheveux", "D1202"), ("faire du pain", "D1102"), ("s'occuper des abeilles", "A1429"),
    ("poser du carrelage", "F1608"), ("laver les vitres", "K2202"),
])
def test_intent_phrases_resolve_through_what_the_job_works_on(lexical_index, query, code):
    assert [m.code for m in lexical_index.resolve(query)][:1] == [code]
