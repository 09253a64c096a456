"""The hand-written slang, abbreviation and intent list (synonyms.csv) and the query rewriting it drives."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Container
from dataclasses import dataclass
from pathlib import Path

from app.metiers.text import STOPWORDS, stem, tokens
from app.referentials.csvfile import ReferenceDataError

SYNONYMS_PATH = Path(__file__).with_name("synonyms.csv")
# English job titles and words with their French wording: same format, read after the French list.
ENGLISH_PATH = Path(__file__).with_name("english.csv")
LEXICON_PATHS = (SYNONYMS_PATH, ENGLISH_PATH)
# What jobs work on ("la viande", "les cheveux") and the job words naming it, for intent phrases.
ACTIVITIES_PATH = Path(__file__).with_name("activities.csv")


@dataclass(frozen=True)
class Synonym:
    """One row: what people type, the ROME codes it means, and the standard wording it stands for."""

    term: str
    words: tuple[str, ...]
    romes: tuple[str, ...]
    equivalent: tuple[str, ...]
    # A translation (english.csv): rewritten even when its words are known, unless it is a title itself.
    translation: bool = False


def load_synonyms(known_codes: Container[str], path: Path | None = None) -> list[Synonym]:
    """Read one synonym list (default: every list of LEXICON_PATHS), refusing unknown ROME codes so a typo
    in a file cannot go unnoticed."""
    if path is None:
        return [syn for each in LEXICON_PATHS for syn in load_synonyms(known_codes, each)]
    if not path.is_file():
        raise ReferenceDataError(f"{path}: synonym list not found")
    text = "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                   if not line.startswith("#"))
    out: list[Synonym] = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        term = (row.get("terme") or "").strip()
        words = tuple(tokens(term, keep_stopwords=True))
        if not words:
            raise ReferenceDataError(f"{path}: row {line}: empty term")
        romes = tuple(code.strip().upper() for code in (row.get("codes_rome") or "").split("|") if code.strip())
        unknown = [code for code in romes if code not in known_codes]
        if unknown:
            raise ReferenceDataError(f"{path}: row {line}: unknown ROME code(s) {', '.join(unknown)}")
        equivalent = tuple(tokens(row.get("equivalent") or "", keep_stopwords=True))
        if not romes and not equivalent:
            raise ReferenceDataError(f"{path}: row {line}: {term!r} has neither ROME codes nor an equivalent")
        out.append(Synonym(term, words, romes, equivalent, path.name == ENGLISH_PATH.name))
    return out


class Rewriter:
    """Replaces slang and abbreviations in a folded token list by their standard wording.

    Longest terms win ("educ spe" before "educ"), so a phrase is rewritten as a whole. A term is
    slang when one of its words is unknown to the referential (`known_words`); terms made only of
    real title words are left alone. A translation is rewritten unless it reads as a title of the
    referential (`known_titles`, folded, without stop words): the referential borrows English words
    ("Data engineer", "Business developer") that would otherwise keep "software engineer" in English.
    """

    def __init__(self, synonyms: list[Synonym], known_words: Collection[str] = (),
                 known_titles: Collection[str] = ()) -> None:
        known = set(known_words) | {stem(w) for w in known_words}
        titles = set(known_titles)

        def is_slang(words: tuple[str, ...]) -> bool:
            return any(w not in known and stem(w) not in known for w in words)

        def rewritten(syn: Synonym) -> bool:
            if syn.translation:
                return " ".join(w for w in syn.words if w not in STOPWORDS) not in titles
            return is_slang(syn.words)

        self._by_words = {s.words: s.equivalent for s in synonyms if s.equivalent and rewritten(s)}
        self._longest = max((len(words) for words in self._by_words), default=0)

    def rewrite(self, words: list[str]) -> list[str]:
        """`words` with every known term replaced; unchanged words are kept as they are."""
        out: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self._longest, len(words) - i), 0, -1):
                equivalent = self._by_words.get(tuple(words[i:i + size]))
                if equivalent is not None:
                    out.extend(equivalent)
                    i += size
                    break
            else:
                out.append(words[i])
                i += 1
        return out


def load_activities(path: Path = ACTIVITIES_PATH) -> dict[tuple[str, ...], tuple[str, ...]]:
    """The activity list: folded term words (without stop words) to the job words that name them."""
    if not path.is_file():
        raise ReferenceDataError(f"{path}: activity list not found")
    text = "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                   if not line.startswith("#"))
    out: dict[tuple[str, ...], tuple[str, ...]] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        words, job = tuple(tokens(row.get("terme") or "")), tuple(tokens(row.get("equivalent") or ""))
        if not words or not job:
            raise ReferenceDataError(f"{path}: row {line}: a term and its job words are both needed")
        out[words] = job
    return out


def read_activities(words: list[str], activities: dict[tuple[str, ...], tuple[str, ...]],
                    keep: Callable[[str], bool] = lambda word: True) -> list[str] | None:
    """`words` with every activity term (longest first) replaced by its job words, the other words kept
    when `keep` says so; None when no term was found."""
    longest = max((len(k) for k in activities), default=0)
    out: list[str] = []
    found = False
    i = 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            job = activities.get(tuple(words[i:i + size]))
            if job is not None:
                out.extend(w for w in job if w not in out)
                found = True
                i += size
                break
        else:
            if keep(words[i]):
                out.append(words[i])
            i += 1
    return out if found else None
