"""Lexical scores of an analysed query: per indexed entry with its bonuses, and per (ROME code, parent) target."""
from __future__ import annotations

import numpy as np

from app.metiers.entries import Entry
from app.metiers.lexical import LexicalIndex
from app.metiers.query import AnalysedQuery
from app.metiers.text import SOFT_WORDS
from ranking.resolve_weights import ResolveWeights

# Entries re-scored with bonuses after the vectorised pass: far more than any page shows.
CANDIDATES = 300


class LexicalScorer:
    """The entries' lexical scores and their spread over the targets the entries point to.

    The weights come with each call: the index's own may change after it was built (per model, tuning).
    """

    def __init__(self, entries: list[Entry], lexical: LexicalIndex) -> None:
        self.entries = entries
        self.lexical = lexical
        self.targets = sorted({t for e in entries for t in e.targets})
        self.target_row = {target: i for i, target in enumerate(self.targets)}
        # Every (entry, target) pair but domain labels', for coverage summed across a code's names.
        pairs = [(i, self.target_row[t], wt) for i, e in enumerate(entries) if e.kind != "domain"
                 for t, wt in zip(e.targets, e.weights)]
        self._pair_entry = np.asarray([p[0] for p in pairs], dtype=np.int32)
        self._pair_target = np.asarray([p[1] for p in pairs], dtype=np.int32)
        self._pair_weight = np.asarray([p[2] for p in pairs], dtype=np.float32)
        self._prior = np.asarray([e.prior for e in entries], dtype=np.float32)

    def entry_scores(self, query: AnalysedQuery, weights: ResolveWeights) -> np.ndarray:
        """Per entry, its best score over the query's readings (typed, corrected, activity)."""
        scores = np.zeros(len(self.entries), dtype=np.float32)
        for variant in query.variants:
            np.maximum(scores, self.lexical.score(variant, SOFT_WORDS), out=scores)
        if query.corrected:
            # Read as typed words, a correction is only as sure as a typo match: discounted.
            corrected = self.lexical.score(query.corrected, SOFT_WORDS) * weights.corrected_factor
            np.maximum(scores, corrected, out=scores)
        if query.activity:
            activity = self.lexical.score(query.activity, SOFT_WORDS) * weights.activity_factor
            np.maximum(scores, activity, out=scores)
        return scores

    def target_coverage(self, query: AnalysedQuery, weights: ResolveWeights) -> np.ndarray:
        """Per target, the idf-weighted share of query words found in any of its entries.

        The titles of one ROME fiche and the synonyms naming it are all names of one job, so evidence
        adds up across them: "technicien réseaux télécoms" may take "technicien réseaux" from one title
        and "télécoms" from another, "BTS NDRC commerce" two synonyms. Domain labels are left out (they
        point at a whole domain), and with one meaningful word there is nothing to add up.
        """
        best = np.zeros(len(self.targets), dtype=np.float32)
        for variant in query.variants:
            if sum(word not in SOFT_WORDS for word in variant) < 2:
                continue
            hits_per_word, total = self.lexical.word_hits(variant, SOFT_WORDS)
            if total <= 0.0:
                continue
            acc = np.zeros(len(self.targets), dtype=np.float32)
            for weight, hits in hits_per_word:
                pair_hits = hits[self._pair_entry]
                found = np.flatnonzero(pair_hits)
                per_target = np.zeros(len(self.targets), dtype=np.float32)
                np.maximum.at(per_target, self._pair_target[found], pair_hits[found] * self._pair_weight[found])
                acc += weight * per_target
            np.maximum(best, acc / total, out=best)
        return best * weights.target_coverage_factor

    def with_bonuses(self, query: AnalysedQuery, scores: np.ndarray, weights: ResolveWeights) -> dict[int, float]:
        """The best entries with exact/prefix/prior bonuses, as {entry: score}."""
        w = weights
        count = min(CANDIDATES, int(np.count_nonzero(scores)))
        if count == 0:
            return {}
        top = np.argpartition(-scores, count - 1)[:count]
        out: dict[int, float] = {}
        for i in top.tolist():
            entry = self.entries[i]
            bonus = float(self._prior[i])
            if any(form in query.forms for form in entry.forms):
                bonus += w.exact_bonus
            elif any(form.startswith(q) for form in entry.forms for q in query.forms):
                bonus += w.prefix_bonus
            out[i] = float(scores[i]) + bonus
        return out

    def target_scores(self, query: AnalysedQuery, weights: ResolveWeights) -> np.ndarray:
        """Per (code, parent) target, its best lexical score (entries and summed coverage)."""
        lexical = np.zeros(len(self.targets), dtype=np.float32)
        for i, score in self.with_bonuses(query, self.entry_scores(query, weights), weights).items():
            entry = self.entries[i]
            for target, weight in zip(entry.targets, entry.weights):
                row = self.target_row[target]
                lexical[row] = max(lexical[row], score * weight)
        np.maximum(lexical, self.target_coverage(query, weights), out=lexical)
        lexical[lexical < weights.min_lexical] = 0.0
        return lexical
