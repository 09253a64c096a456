"""The métier index: free text to ROME families and job-title suggestions, fusing its lexical and semantic sides."""
from __future__ import annotations

import logging
import re
import time

import numpy as np

from app.metiers.embeddings import Embedder, VectorStore
from app.metiers.entries import build_entries, fiche_documents
from app.metiers.lexical import LexicalIndex
from app.metiers.places import find_place
from app.metiers.query import AnalysedQuery, analyse_query, is_meaningful, short_terms
from app.metiers.results import Resolution, RomeMatch, Suggestion
from app.metiers.scoring import CANDIDATES, LexicalScorer
from app.metiers.semantic import (
    document_entries,
    fiche_vectors,
    matvec,
    normalise_cosines,
    semantic_share,
    target_documents,
)
from app.metiers.synonyms import Rewriter, Synonym, load_activities
from app.metiers.text import tokens
from app.referentials.communes import Communes
from app.referentials.rome import Rome
from ranking.resolve_weights import DEFAULT_RESOLVE_WEIGHTS, ResolveWeights

log = logging.getLogger(__name__)

ROME_CODE_RE = re.compile(r"^\s*([A-Na-n]\d{4})\s*$")
KINDS_SHOWN = ("appellation", "rome", "rome_v3", "synonym")


class MetierIndex:
    """Free text to ROME codes and job-title suggestions, lexical always, semantic when a model is loaded."""

    def __init__(self, rome: Rome, synonyms: list[Synonym], *, weights: ResolveWeights = DEFAULT_RESOLVE_WEIGHTS,
                 embedder: Embedder | None = None, store: VectorStore | None = None,
                 rare: set[str] | frozenset[str] = frozenset(), referential_version: str = "",
                 communes: Communes | None = None,
                 activities: dict[tuple[str, ...], tuple[str, ...]] | None = None) -> None:
        started = time.perf_counter()
        self.rome = rome
        self.communes = communes
        self.weights = weights
        self.entries = build_entries(rome, synonyms, weights, rare)
        self.lexical = LexicalIndex([e.text for e in self.entries], weights)
        # Only slang is rewritten: a term made of real title words ("bois", "cuisine") keeps its meaning
        # in the query and acts through its synonym entry, or "charpentier bois" would turn into "menuisier".
        referential_words = {w for e in self.entries if e.kind != "synonym" for w in tokens(e.text)}
        referential_titles = {f for e in self.entries if e.kind != "synonym" for f in e.forms}
        self.rewriter = Rewriter(synonyms, referential_words, referential_titles)
        self.activities = load_activities() if activities is None else activities
        self._short_terms = short_terms(synonyms)
        self._scorer = LexicalScorer(self.entries, self.lexical)
        # The (code, parent) targets every per-target array of both sides follows, row by row.
        self._targets = self._scorer.targets
        self._principal = {a.rome: a for a in rome.appellations.values() if a.principal}
        # Scores are shown on a 0-1 scale: a perfect lexical match plus its best bonuses is 1.
        self._max_score = 1.0 + weights.exact_bonus + weights.principal_bonus
        self.embedder = embedder
        self._vectors: np.ndarray | None = None
        if embedder is not None:
            self.weights = weights = weights.for_model(embedder.name)
            self._build_semantic(embedder, store, rare, referential_version)
        log.info("métier index: %d entries, semantic=%s, built in %.1f s", len(self.entries),
                 embedder.name if self.semantic and embedder is not None else "off", time.perf_counter() - started)

    # --- building -----------------------------------------------------------------------------------

    def _build_semantic(self, embedder: Embedder, store: VectorStore | None, rare: set[str] | frozenset[str],
                        referential_version: str) -> None:
        codes, texts = fiche_documents(self.rome, rare)
        try:
            self._vectors = fiche_vectors(embedder, store, texts, referential_version)
        except Exception as exc:  # a broken model must degrade the service, not stop it
            log.warning("embedding the métier index failed, job search runs lexical-only: %s", exc)
            self.embedder = None
            self._vectors = None
            return
        self._target_doc = target_documents(codes, self._targets)
        self._doc_entry = document_entries(codes, self.entries, self.rome)

    @property
    def semantic(self) -> bool:
        """Whether the semantic side is on (a model loaded and the index embedded)."""
        return self.embedder is not None and self._vectors is not None

    # --- queries ------------------------------------------------------------------------------------

    def _analyse(self, text: str) -> AnalysedQuery | None:
        return analyse_query(text, self.lexical, self.rewriter, self.activities)

    def _query_vector(self, query: AnalysedQuery) -> np.ndarray | None:
        if not self.semantic:
            return None
        try:
            return self.embedder.encode_queries([query.embed_text])[0]  # type: ignore[union-attr]
        except Exception as exc:  # a failing model must cost the semantic side only
            log.warning("query embedding failed, answering lexically: %s", exc)
            return None

    def _semantic_cosines(self, query: AnalysedQuery) -> np.ndarray | None:
        """Cosine of the query with every fiche document."""
        vector = self._query_vector(query)
        return None if vector is None or self._vectors is None else matvec(self._vectors, vector)

    # --- résolution: text to ROME families ----------------------------------------------------------

    def resolve(self, text: str, limit: int = 10, semantic: bool = True) -> Resolution:
        """The ROME code families `text` means, best first, and the commune it names ("… à Lyon").

        Empty when the text means no job with enough confidence (`ResolveWeights.min_confidence`).
        `semantic=False` answers lexically (evaluation of the two sides).
        """
        place = find_place(self.communes, text or "") if self.communes is not None else None
        job_text = place.job_text if place is not None else (text or "")
        return Resolution(self._resolve_job(job_text, limit, semantic), place)

    def _resolve_job(self, text: str, limit: int, semantic: bool) -> list[RomeMatch]:
        direct = ROME_CODE_RE.match(text)
        if direct and direct.group(1).upper() in self.rome:
            code = self.rome.codes[direct.group(1).upper()]
            return [RomeMatch(code.code, code.parent, code.label, 1.0)]
        query = self._analyse(text)
        if query is None or not is_meaningful(text, self._short_terms):
            return []
        lexical = self._lexical_targets(query)
        best_lexical = float(lexical.max())
        # A full lexical match leaves the semantic side a tie-breaker's share: skip the query embedding.
        wants_vector = semantic and best_lexical < self.weights.embed_below_lexical
        return self._combine(lexical, self._target_cosines(query) if wants_vector else None, limit)

    def _lexical_targets(self, query: AnalysedQuery) -> np.ndarray:
        """Per (code, parent) target, its best lexical score (entries and summed coverage)."""
        return self._scorer.target_scores(query, self.weights)

    def _target_cosines(self, query: AnalysedQuery) -> np.ndarray | None:
        """Per target, the cosine of the query with its fiche document; None without a vector."""
        vector = self._query_vector(query)
        return None if vector is None or self._vectors is None else matvec(self._vectors, vector)[self._target_doc]

    def _combine(self, lexical: np.ndarray, cosines: np.ndarray | None, limit: int) -> list[RomeMatch]:
        """Both sides fused per target, under the confidence floor: families best first, or none."""
        w = self.weights
        best_lexical = float(lexical.max())
        confidence = best_lexical
        if cosines is None:
            fused = lexical
        else:
            normalised = normalise_cosines(w, cosines)
            share = semantic_share(w, best_lexical)
            fused = (1.0 - share) * lexical + share * normalised
            confidence = max(confidence, float(normalised.max()) * w.semantic_confidence)
        # The floor: junk ("' OR 1=1 --", "%ff%fe") finds stray prefixes or a weak cosine somewhere; under
        # this confidence the honest answer is "no job for this text".
        if confidence < w.min_confidence or not fused.any():
            return []
        return self._families(fused, limit)

    def _families(self, fused: np.ndarray, limit: int) -> list[RomeMatch]:
        """One result per parent code (its best target), padded to `min_results` when needed."""
        w = self.weights
        best: dict[str, tuple[float, str]] = {}
        for row in np.argsort(-fused, kind="stable").tolist():
            score = float(fused[row])
            if score <= 0.0:
                break
            code, parent = self._targets[row]
            if parent not in best:
                best[parent] = (score, code)
            if len(best) >= limit:
                break
        results = [self._match(code, parent, score) for parent, (score, code) in best.items()]
        if len(results) < min(w.min_results, limit) and results:
            results.extend(self._neighbours(results, min(w.min_results, limit) - len(results)))
        return results

    def _neighbours(self, found: list[RomeMatch], count: int) -> list[RomeMatch]:
        """Parent codes of the top result's professional domain, to reach the minimum list length."""
        top = self.rome.codes[found[0].code]
        seen = {m.parent for m in found}
        score = found[-1].score * self.weights.neighbour_share
        out: list[RomeMatch] = []
        for parent in self.rome.parents:
            code = self.rome.codes[parent]
            if code.domaine == top.domaine and parent not in seen and len(out) < count:
                out.append(self._match(parent, parent, score))
        if len(out) < count:
            for parent in self.rome.parents:
                code = self.rome.codes[parent]
                if code.grand_domaine == top.grand_domaine and parent not in seen and \
                        all(m.parent != parent for m in out) and len(out) < count:
                    out.append(self._match(parent, parent, score * self.weights.neighbour_share))
        return out

    def _match(self, code: str, parent: str, score: float) -> RomeMatch:
        return RomeMatch(code, parent, self.rome.codes[code].label, round(score / self._max_score, 4))

    # --- autocomplete: text to job titles -----------------------------------------------------------

    def suggest(self, text: str, limit: int = 20) -> list[Suggestion]:
        """Job titles completing `text`, best first, at most `limit`."""
        direct = ROME_CODE_RE.match(text or "")
        if direct and direct.group(1).upper() in self.rome:
            code = direct.group(1).upper()
            apps = sorted((a for a in self.rome.appellations.values() if a.rome == code),
                          key=lambda a: (not a.principal, a.label))
            return [Suggestion(a.label, a.code_ogr, a.rome, a.parent, 1.0) for a in apps[:limit]]
        query = self._analyse(text or "")
        if query is None:
            return []
        w = self.weights
        scored = self._scorer.with_bonuses(query, self._scorer.entry_scores(query, w), w)
        scored = {i: s for i, s in scored.items() if s >= w.min_lexical}
        if self.semantic and max(scored.values(), default=0.0) < w.suggest_semantic_below:
            scored = self._fuse_semantic(query, scored)
        return self._suggestions(scored, limit)

    def _fuse_semantic(self, query: AnalysedQuery, scored: dict[int, float]) -> dict[int, float]:
        """Entry scores mixing both sides, for queries the lexical side reads poorly (intents, paraphrases)."""
        w = self.weights
        cosines = self._semantic_cosines(query)
        if cosines is None or float(cosines.max()) < w.min_semantic_cosine:
            return scored
        semantic = normalise_cosines(w, cosines)
        share = semantic_share(w, max(scored.values(), default=0.0))
        fused = {i: (1.0 - share) * s for i, s in scored.items()}
        count = min(CANDIDATES, len(semantic))
        for vrow in np.argpartition(-semantic, count - 1)[:count].tolist():
            i = int(self._doc_entry[vrow])
            if i >= 0:
                fused[i] = fused.get(i, 0.0) + share * float(semantic[vrow])
        return fused

    def _suggestions(self, scored: dict[int, float], limit: int) -> list[Suggestion]:
        best: dict[str, Suggestion] = {}
        for i, score in sorted(scored.items(), key=lambda item: -item[1]):
            entry = self.entries[i]
            if entry.kind not in KINDS_SHOWN:
                continue
            for (code, _), weight in zip(entry.targets, entry.weights):
                if entry.kind == "appellation":
                    app = self.rome.appellations[entry.appellation_code]
                else:
                    app = self._principal[code]
                value = round(score * weight / self._max_score, 4)
                # Some titles exist under several appellation codes: one line per title is enough.
                current = best.get(app.label)
                if current is None or current.score < value:
                    best[app.label] = Suggestion(app.label, app.code_ogr, app.rome, app.parent, value)
            if len(best) >= limit * 3:
                break
        ranked = sorted(best.values(), key=lambda s: (-s.score, len(s.label), s.label))
        return ranked[:limit]
