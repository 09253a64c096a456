"""Free text with a bounded cost: the words both engines search, candidates-only scoring, the time budget."""
from __future__ import annotations

import unicodedata
from datetime import date

from app.search import text_columns
from app.search.contract import KINDS, MatchQuery
from app.search.embedded import EmbeddedEngine
from app.search.text import MAX_TEXT_CHARS, MAX_WORDS, fold, text_words
from tests.factories import make_documents

TODAY = date.today()
LYON = (45.764, 4.8357)


def test_words_are_folded_without_stop_words_or_syntax():
    assert text_words("Assistante de Direction") == ("assistante", "direction")
    assert text_words("de la le les un une des du au et ou") == ()
    assert text_words('" OR 1=1 -- NEAR(aide* soignant^2)') == ("or", "near", "aide", "soignant")
    assert text_words("Pâtissière, pâtissière ; PATISSIERE") == ("patissiere",)
    assert text_words("a b c d e f g h i j") == ()
    assert len(text_words("ab cd ef gh ij kl mn op qr st uv wx yz")) == MAX_WORDS
    assert text_words("%ff%fe\x00boulanger") == ("ff", "fe", "boulanger")


def test_fold_takes_the_ascii_shortcut_without_changing_any_answer():
    # The reference: every text decomposed and stripped of its combining marks, shortcut or not.
    def reference(text):
        decomposed = unicodedata.normalize("NFKD", text[:MAX_TEXT_CHARS].lower())
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    texts = ["BOULANGERIE DUPONT", "Pâtissière à Saint-Étienne", "Manœuvre", "\u212a\u212b", "İstanbul",
             "ﬁbre ﬂeuriste", "x" * (MAX_TEXT_CHARS + 10) + "é", "é" * (MAX_TEXT_CHARS + 10), ""]
    for text in texts:
        assert fold(text) == reference(text), text
    assert fold("BOULANGERIE DUPONT") == "boulangerie dupont"
    assert fold("\u212a") == "k"  # the Kelvin sign lower-cases to ASCII
    assert fold("Pâtissière") == "patissiere"


def _publish(engine, docs):
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add(d for d in docs if d["kind"] == kind)


def _texts(refs, titles):
    docs = make_documents(refs, 3 * len(titles), seed=8, codes=["D1102"], today=TODAY)
    out = []
    for i, doc in enumerate(docs):
        out.append(dict(doc, search_text=titles[i % len(titles)], location={"lat": LYON[0], "lon": LYON[1] + i * 1e-4}))
    return out


def test_stop_words_and_short_words_score_nothing(engine, refs):
    docs = _texts(refs, ["Développeur web", "Assistante de direction", "Dessinateur", "Employé libre-service"])
    _publish(engine, docs)
    by_text = {d["id"]: d["search_text"] for d in docs}
    base = MatchQuery(romes=("D1102",), latitude=LYON[0], longitude=LYON[1], radius_km=10, page_size=None)

    def scored(text):
        return {by_text[h.id] for h in engine.search(MatchQuery(**{**base.__dict__, "text": text})).hits
                if h.text_score > 0}

    # "de" is a stop word: it is not a prefix of "développeur" or "dessinateur" any more.
    assert scored("assistante de direction") == {"Assistante de direction"}
    assert scored("de la des") == set()
    if hasattr(engine, "root"):  # the embedded engine's words of three letters or more are prefixes
        assert scored("dev") == {"Développeur web"}
    assert scored('"web" OR de* NOT libre') == {"Développeur web", "Employé libre-service"}


def test_text_is_scored_over_the_candidates_only(tmp_path, refs, monkeypatch):
    near = _texts(refs, ["Boulanger pâtissier"] * 2)
    far = [dict(d, id=f"{d['id']}-far", location={"lat": 43.3, "lon": 5.4}) for d in _texts(refs, ["Boulanger"] * 30)]
    engine = EmbeddedEngine(tmp_path / "index")
    _publish(engine, near + far)
    seen = []
    original = text_columns.TextColumns.scores

    def spy(self, rids, words, deadline_passed):
        seen.append(len(rids))
        return original(self, rids, words, deadline_passed)

    monkeypatch.setattr(text_columns.TextColumns, "scores", spy)
    query = MatchQuery(romes=("D1102",), latitude=LYON[0], longitude=LYON[1], radius_km=10, text="boulanger",
                       page_size=None)
    hits = list(engine.iter_candidates(query))
    assert len(hits) == len(near) and all(h.text_score > 0 for h in hits)
    assert sum(seen) == len(near)  # the 90 documents with the word near Marseille were never read


def test_the_time_budget_stops_text_scoring(tmp_path, refs, monkeypatch):
    docs = _texts(refs, ["Boulanger"] * 20)
    engine = EmbeddedEngine(tmp_path / "index", text_budget_s=0.0)
    _publish(engine, docs)
    monkeypatch.setattr(text_columns, "CHUNK", 10)
    query = MatchQuery(romes=("D1102",), latitude=LYON[0], longitude=LYON[1], radius_km=10, text="boulanger",
                       page_size=None)
    hits = list(engine.iter_candidates(query))
    assert len(hits) > 20
    scored = [h for h in hits if h.text_score > 0]
    assert 0 < len(scored) < len(hits)  # the first chunk was scored, the budget stopped the rest
    assert engine.budget_exceeded >= 1
    patient = EmbeddedEngine(tmp_path / "index", text_budget_s=30.0)
    patient_hits = list(patient.iter_candidates(query))
    assert len(patient_hits) == len(hits) and all(h.text_score > 0 for h in patient_hits)
