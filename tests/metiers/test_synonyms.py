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
