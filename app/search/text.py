"""Free text as both engines search it: folded words, French stop words and too-short words dropped, a bounded count."""
from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

#: A word shorter than this is never a prefix: "de"* expands to every token starting with "de"
#: and scores half of France. Shorter words are kept as exact words when they are not stop words
#: (MIN_WORD_CHARS), so "rh" or "it" still count.
MIN_PREFIX_CHARS = 3
MIN_WORD_CHARS = 2
#: At most this many distinct words reach the engine: the cost of a text clause grows with its
#: words, and a job search box never needs more.
MAX_WORDS = 6
#: Text longer than this is cut before it is folded (the API limits `q` too; this bounds the work here).
MAX_TEXT_CHARS = 500
STOPWORDS_FILE = Path(__file__).with_name("stopwords_fr.txt")


@functools.cache
def stopwords() -> frozenset[str]:
    """The French stop words of STOPWORDS_FILE (folded, lower case)."""
    lines = STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def fold(text: str) -> str:
    """Lower case without diacritics (NFKD, combining marks removed), as FTS5's remove_diacritics does."""
    lowered = text[:MAX_TEXT_CHARS].lower()
    if lowered.isascii():
        # ASCII has nothing to decompose; most names and many labels are ASCII, and a build folds
        # every document's text, so the per-character pass below is kept for the others.
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def text_words(text: str) -> tuple[str, ...]:
    """The words of `text` worth searching: folded, ASCII letters and digits, no stop word, at most MAX_WORDS.

    Anything else (FTS or Lucene syntax, quotes, operators, other scripts) is a separator, so the
    result is safe to write into any engine's query language.
    """
    stop = stopwords()
    words = [w for w in re.split(r"[^a-z0-9]+", fold(text)) if len(w) >= MIN_WORD_CHARS and w not in stop]
    return tuple(dict.fromkeys(words))[:MAX_WORDS]

