"""Typo- and prefix-tolerant word index over métier texts, scoring entries by idf-weighted word coverage."""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from app.metiers.text import stem, tokens
from ranking.resolve_weights import ResolveWeights

# Fuzzy matching starts at 4 letters: below that one error changes a third of the word.
_TYPO_MIN_CHARS = 4
_TYPO_2_MIN_CHARS = 8
# Typo-inside-a-prefix only for 5+ typed letters: shorter starts match too many words by chance.
_TYPO_PREFIX_MIN_CHARS = 5
_PREFIX_LENGTHS = range(_TYPO_PREFIX_MIN_CHARS, 16)
# Infinitives ("réparer", "vendre", "servir") of 6+ letters; shorter ones leave a root too vague.
_VERB_ENDINGS = ("er", "ir", "re")
_VERB_MIN_CHARS = 6


class LexicalIndex:
    """Inverted index from word stems to entries, with exact, prefix, typo and compound-split lookup."""

    def __init__(self, texts: Sequence[str], weights: ResolveWeights) -> None:
        self.weights = weights
        self.size = len(texts)
        stem_ids: dict[str, int] = {}
        surface_stem: dict[str, int] = {}
        postings: list[list[int]] = []
        entry_stems: list[list[int]] = []
        written: set[str] = set()
        for entry, text in enumerate(texts):
            ids: list[int] = []
            for word in tokens(text):
                key = stem(word)
                sid = stem_ids.setdefault(key, len(stem_ids))
                if sid == len(postings):
                    postings.append([])
                surface_stem.setdefault(word, sid)
                written.add(word)
                surface_stem.setdefault(key, sid)
                if sid not in ids:
                    ids.append(sid)
                    postings[sid].append(entry)
            entry_stems.append(ids)
        self._stem_ids = stem_ids
        # Words as the texts write them (not their stems): what a spelling correction may propose.
        self._written = frozenset(written)
        self._postings = [np.asarray(p, dtype=np.int32) for p in postings]
        df = np.asarray([len(p) for p in postings], dtype=np.float64)
        # Smoothed idf: a word found in every entry still weighs a little, a unique one about log(N).
        self.idf = np.log1p(self.size / np.maximum(df, 1.0)).astype(np.float32)
        self._median_idf = float(np.median(self.idf)) if len(self.idf) else 1.0
        self.entry_norm = np.asarray([sum(float(self.idf[s]) for s in ids) or 1.0 for ids in entry_stems],
                                     dtype=np.float32)
        self._surface = sorted(surface_stem)
        self._surface_stem = [surface_stem[w] for w in self._surface]
        self._df = df
        # Typos are looked for among words with the same first letter: people rarely miss the first
        # one, and it makes the search ~20 times smaller. Whole words, and starts of words by length
        # for typos inside a prefix ("boulengr" → "boulange…").
        self._words_by_initial: dict[str, tuple[list[str], list[int]]] = {}
        for word, sid in zip(self._surface, self._surface_stem):
            words, sids = self._words_by_initial.setdefault(word[0], ([], []))
            words.append(word)
            sids.append(sid)
        self._prefixes: dict[tuple[str, int], tuple[list[str], list[list[int]]]] = {}
        for length in _PREFIX_LENGTHS:
            groups: dict[str, set[int]] = {}
            for word, sid in zip(self._surface, self._surface_stem):
                if len(word) > length:
                    groups.setdefault(word[:length], set()).add(sid)
            for key in sorted(groups):
                keys, stems = self._prefixes.setdefault((key[0], length), ([], []))
                keys.append(key)
                stems.append(sorted(groups[key]))
        self.match_word = lru_cache(maxsize=8192)(self._match_word)

    def knows(self, word: str) -> bool:
        """Whether `word` (or its stem) is an indexed word."""
        return word in self._stem_ids or stem(word) in self._stem_ids

    def _match_word(self, word: str, allow_prefix: bool) -> tuple[tuple[int, float], ...]:
        """Indexed stems that `word` may stand for, with a similarity in [0, 1], best first."""
        w = self.weights
        found: dict[int, float] = {}

        def offer(sid: int, sim: float) -> None:
            if sim > found.get(sid, 0.0):
                found[sid] = sim

        if word in self._stem_ids:
            offer(self._stem_ids[word], w.word_exact)
        key = stem(word)
        if key in self._stem_ids:
            offer(self._stem_ids[key], w.word_exact if key == word else w.word_stem)
        known = bool(found)
        if allow_prefix:
            self._offer_prefixes(word, offer, w.word_prefix_base)
        # A verb names the job by its action ("réparer des voitures", "soigner"): its root starts the
        # job nouns ("répar" → "réparateur", "réparation"). Only for words that are not titles already.
        if not known and len(word) >= _VERB_MIN_CHARS and word.endswith(_VERB_ENDINGS):
            # "-ire" verbs drop three letters: "conduire" → "condu" (conducteur), "construire" → "constru".
            root = word[:-3] if word.endswith("ire") else word[:-2]
            self._offer_prefixes(root, offer, w.word_verb_base)
        # Spelling correction is for words the index does not know: "commerce" is a word, not a
        # misspelt "commercial".
        if not known and len(word) >= _TYPO_MIN_CHARS and not word.isdigit():
            self._offer_typos(word, offer)
        return tuple(sorted(found.items(), key=lambda item: -item[1]))

    def _offer_prefixes(self, word: str, offer, base: float) -> None:
        w = self.weights
        lo = bisect.bisect_left(self._surface, word)
        hi = bisect.bisect_left(self._surface, word + "\x7f")
        candidates: dict[Any, Any] = {}
        for i in range(lo, hi):
            surface = self._surface[i]
            if surface == word:
                continue
            sim = base + w.word_prefix_span * len(word) / len(surface)
            sid = self._surface_stem[i]
            candidates[sid] = max(candidates.get(sid, 0.0), sim)
        if len(candidates) > w.max_prefix_words:
            # Keep the completions found in most entries: the ones a person is most likely typing.
            kept = sorted(candidates, key=lambda sid: -self._df[sid])[: w.max_prefix_words]
            candidates = {sid: candidates[sid] for sid in kept}
        for sid, sim in candidates.items():
            offer(sid, sim)

    def _offer_typos(self, word: str, offer) -> None:
        w = self.weights
        max_distance = 2 if len(word) >= _TYPO_2_MIN_CHARS else 1
        words, sids = self._words_by_initial.get(word[0], ([], []))
        for _, distance, i in process.extract(word, words, scorer=OSA.distance, score_cutoff=max_distance,
                                              limit=None):
            if distance:
                offer(sids[i], w.word_typo_1 if distance == 1 else w.word_typo_2)
        if (word[0], len(word)) in self._prefixes:
            keys, stems = self._prefixes[(word[0], len(word))]
            for _, distance, i in process.extract(word, keys, scorer=OSA.distance, score_cutoff=1, limit=None):
                if distance:
                    for sid in stems[i]:
                        offer(sid, w.word_typo_prefix)

    def correct(self, word: str) -> str:
        """`word` spelt as the closest indexed word when the index does not know it, else unchanged.

        Same bounds as typo matching (1 error from 4 letters, 2 from 8, same first letter); among equally
        close words the one found in most entries wins. For the semantic side, which reads a misspelt
        word as other letters ("serverse" near "server") rather than as the job it means.
        """
        if len(word) < _TYPO_MIN_CHARS or word.isdigit() or self.knows(word):
            return word
        max_distance = 2 if len(word) >= _TYPO_2_MIN_CHARS else 1
        words, sids = self._words_by_initial.get(word[0], ([], []))
        found = process.extract(word, words, scorer=OSA.distance, score_cutoff=max_distance, limit=None)
        if not found:
            return word
        found = [item for item in found if item[0] in self._written]
        if not found:
            return word
        _, _, best = min(found, key=lambda item: (item[1], -self._df[sids[item[2]]], item[0]))
        return words[best]

    def split_compound(self, word: str) -> list[str] | None:
        """Two known words glued together ("aidesoignant"), or None when `word` reads as it is."""
        if len(word) < 7 or self.match_word(word, True):
            return None
        for cut in range(3, len(word) - 2):
            left, right = word[:cut], word[cut:]
            if self.knows(left) and self.knows(right):
                return [left, right]
        return None

    def word_hits(self, words: Sequence[str], soft: frozenset[str]) -> tuple[list[tuple[float, np.ndarray]], float]:
        """Per query word, its idf weight and its best similarity in every entry; and the total weight.

        The total also counts words found nowhere (at `unmatched_weight`), so they lower coverage.
        """
        w = self.weights
        hits_per_word: list[tuple[float, np.ndarray]] = []
        total = 0.0
        last = len(words) - 1
        for position, word in enumerate(words):
            allow_prefix = position == last or len(word) >= w.min_prefix_chars
            matches = self.match_word(word, allow_prefix)
            if not matches:
                total += 0.0 if word in soft else w.unmatched_weight * self._median_idf
                continue
            factor = w.soft_word_factor if word in soft else 1.0
            weight = float(self.idf[matches[0][0]]) * factor
            hits = np.zeros(self.size, dtype=np.float32)
            for sid, sim in matches:
                rows = self._postings[sid]
                hits[rows] = np.maximum(hits[rows], sim)
            hits_per_word.append((weight, hits))
            total += weight
        return hits_per_word, total

    def score(self, words: Sequence[str], soft: frozenset[str]) -> np.ndarray:
        """Score every entry for the query `words` (folded, without stop words), in [0, 1]."""
        w = self.weights
        hits_per_word, total = self.word_hits(words, soft)
        acc = np.zeros(self.size, dtype=np.float32)
        for weight, hits in hits_per_word:
            acc += weight * hits
        if total <= 0.0:
            return acc
        coverage = acc / total
        specificity = np.minimum(acc / self.entry_norm, 1.0)
        return coverage * (w.specificity_floor + (1.0 - w.specificity_floor) * specificity)
