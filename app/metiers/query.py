"""How the métier index reads a typed text: folded, rewritten, split, spelt right, its activities read as jobs."""
from __future__ import annotations

from dataclasses import dataclass

from app.metiers.lexical import LexicalIndex
from app.metiers.synonyms import Rewriter, Synonym, read_activities
from app.metiers.text import MAX_QUERY_CHARS, MAX_QUERY_TOKENS, SOFT_WORDS, STOPWORDS, tokens

# Résolution needs one word of at least this many letters (or a listed short term such as "RH"): digits
# and one- or two-letter fragments ("' OR 1=1 --", "%ff%fe") are not evidence of a job.
MEANINGFUL_CHARS = 3


@dataclass
class AnalysedQuery:
    """A query after folding, rewriting and compound splitting."""

    variants: list[list[str]]
    forms: set[str]
    embed_text: str
    # The query with its unknown words spelt as the closest indexed words, when any was corrected.
    corrected: list[str] | None = None
    # The query with the things it names read as the jobs working on them ("viande" → "boucher").
    activity: list[str] | None = None


def analyse_query(text: str, lexical: LexicalIndex, rewriter: Rewriter,
                  activities: dict[tuple[str, ...], tuple[str, ...]]) -> AnalysedQuery | None:
    """`text` read every way the index searches it; None when it holds no word to search."""
    words = tokens(text[:MAX_QUERY_CHARS], keep_stopwords=True)[: MAX_QUERY_TOKENS * 2]
    if not words:
        return None
    rewritten = rewriter.rewrite(words)
    variants: list[list[str]] = []
    for candidate in (words, rewritten):
        plain = [w for w in candidate if w not in STOPWORDS][:MAX_QUERY_TOKENS]
        split: list[str] = []
        for word in plain:
            split.extend(lexical.split_compound(word) or [word])
        for variant in (plain, split):
            if variant and variant not in variants:
                variants.append(variant)
    if not variants:
        return None
    # The model reads the corrected spelling: a typo is other letters to it, not the same job.
    spelt = [lexical.correct(w) if w not in STOPWORDS else w for w in rewritten]
    plain = [w for w in spelt if w not in STOPWORDS][:MAX_QUERY_TOKENS]
    corrected = plain if plain not in variants else None
    forms = {" ".join(w for w in v if w not in SOFT_WORDS) for v in [*variants, plain]} - {""}
    activity = read_activities(plain, activities, lambda word: _keeps_in_activity(word, lexical))
    return AnalysedQuery(variants, forms, " ".join(spelt), corrected, activity or None)


def _keeps_in_activity(word: str, lexical: LexicalIndex) -> bool:
    """Whether a word stays beside the job words of an activity reading: not an intent word, nor an
    activity verb the index does not know ("couper", "installer"): the thing worked on says more."""
    if word in SOFT_WORDS:
        return False
    return not (len(word) >= 6 and word.endswith(("er", "ir", "re")) and not lexical.knows(word))


def short_terms(synonyms: list[Synonym]) -> set[str]:
    """Short words that name a job on their own ("rh", "pl", "bts"...): the synonym list's terms."""
    return {syn.words[0] for syn in synonyms if len(syn.words) == 1 and
            len(syn.words[0]) < MEANINGFUL_CHARS and not syn.words[0].isdigit()}


def is_meaningful(text: str, short: set[str]) -> bool:
    """Whether `text` has a word that can carry a job: 3+ letters, not only digits, or a listed term."""
    for word in tokens(text[:MAX_QUERY_CHARS]):
        if word in SOFT_WORDS:
            continue
        if (len(word) >= MEANINGFUL_CHARS and not word.isdigit()) or word in short:
            return True
    return False
