"""The métier index: ROME labels, appellations, domains and synonyms, searched lexically and semantically."""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.metiers.embeddings import Embedder, EmbeddingCache, embed_with_cache
from app.metiers.lexical import LexicalIndex
from app.metiers.synonyms import Rewriter, Synonym
from app.metiers.text import MAX_QUERY_CHARS, MAX_QUERY_TOKENS, SOFT_WORDS, STOPWORDS, tokens
from app.referentials.csvfile import read_rows
from app.referentials.rome import Rome
from ranking.resolve_weights import DEFAULT_RESOLVE_WEIGHTS, ResolveWeights

log = logging.getLogger(__name__)

ROME_CODE_RE = re.compile(r"^\s*([A-Na-n]\d{4})\s*$")
# Entries re-scored with bonuses after the vectorised pass: far more than any page shows.
CANDIDATES = 300
KINDS_SHOWN = ("appellation", "rome", "rome_v3", "synonym")


@dataclass(frozen=True)
class RomeMatch:
    """One ROME code family a query means: the most specific matching code, its parent, label and score."""

    code: str
    parent: str
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the API."""
        return {"code": self.code, "parent": self.parent, "label": self.label, "score": self.score}


@dataclass(frozen=True)
class Suggestion:
    """One autocomplete line: a job title, its appellation code, ROME code and parent code."""

    label: str
    appellation_code: str | None
    rome: str
    parent: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the API."""
        return {"label": self.label, "appellation_code": self.appellation_code, "rome": self.rome,
                "parent": self.parent, "score": self.score}


@dataclass(frozen=True)
class Entry:
    """One indexed text and the (ROME code, parent code) targets it points to, with a weight per target.

    The parent is the appellation's own historic code when it has one: 404 appellations hang under
    another historic code than their ROME 4.0 fiche ("Chauffagiste" is fiche I1308 but historic F1603).
    """

    text: str
    kind: str  # appellation | rome | rome_v3 | domain | synonym
    appellation_code: str
    targets: tuple[tuple[str, str], ...]
    weights: tuple[float, ...]
    forms: tuple[str, ...]  # the text's readings as folded words, for exact and prefix bonuses
    prior: float
    embedded: bool


@dataclass
class _Query:
    """A query after folding, rewriting and compound splitting."""

    variants: list[list[str]]
    forms: set[str]
    embed_text: str


def _matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """matrix @ vector on the embedder's single torch thread when torch is there.

    numpy's OpenBLAS would start its own thread pool for this small product; its spinning threads then
    compete with the next query's forward pass for the same cores and slow both several times over.
    """
    try:
        import torch
    except ImportError:  # lexical-only deployments without torch never call this with vectors anyway
        return matrix @ vector
    return torch.mv(torch.from_numpy(matrix), torch.from_numpy(vector)).numpy()


def _forms(text: str) -> tuple[str, ...]:
    """Folded readings of a title: the whole, and each side of "Boulanger / Boulangère"."""
    parts = [text, *text.split(" / ")] if " / " in text else [text]
    return tuple(dict.fromkeys(" ".join(tokens(p)) for p in parts if tokens(p)))


def rare_appellations(data_dir: Path) -> set[str]:
    """Appellation codes France Travail flags as rarely used (column peu_usite)."""
    path = data_dir / "rome" / "rome_appellations.csv"
    return {row["code_ogr"] for _, row in read_rows(path, ["code_ogr", "peu_usite"]) if row["peu_usite"] == "O"}


def build_entries(rome: Rome, synonyms: list[Synonym], weights: ResolveWeights,
                  rare: set[str] | frozenset[str] = frozenset()) -> list[Entry]:
    """Every text the index searches, from the ROME referential and the synonym list."""
    entries: list[Entry] = []
    principal_text = {}
    principal_parent = {a.rome: a.parent for a in rome.appellations.values() if a.principal}
    for app in rome.appellations.values():
        prior = (weights.principal_bonus if app.principal else 0.0) - (weights.rare_malus if app.code_ogr in rare
                                                                        else 0.0)
        entries.append(Entry(app.label, "appellation", app.code_ogr, ((app.rome, app.parent),), (1.0,),
                             _forms(app.label), prior, True))
        if app.principal:
            principal_text[app.rome] = " ".join(tokens(app.label))
    for code in rome.codes.values():
        # The label of a fiche is usually its main appellation already indexed above.
        if " ".join(tokens(code.label)) != principal_text.get(code.code):
            entries.append(Entry(code.label, "rome", "", ((code.code, code.parent),), (1.0,), _forms(code.label),
                                 weights.principal_bonus, True))
        if code.label_v3:
            entries.append(Entry(code.label_v3, "rome_v3", "", ((code.code, code.parent),), (1.0,),
                                 _forms(code.label_v3), 0.0, True))
    by_domain: dict[str, list[tuple[str, str]]] = {}
    for code in rome.codes.values():
        by_domain.setdefault(code.domaine, []).append((code.code, code.parent))
    for domain, label in rome.domaines.items():
        targets = tuple(sorted(by_domain.get(domain, ())))
        if targets:
            entries.append(Entry(label, "domain", "", targets, (weights.domain_spread,) * len(targets),
                                 _forms(label), 0.0, True))
    for syn in synonyms:
        if syn.romes:
            decay = tuple(max(0.5, 1.0 - weights.synonym_rank_decay * i) for i in range(len(syn.romes)))
            # A code named in the list means its fiche as people know it: its main title's family.
            targets = tuple((code, principal_parent.get(code, rome.codes[code].parent)) for code in syn.romes)
            entries.append(Entry(syn.term, "synonym", "", targets, decay, (" ".join(
                w for w in syn.words if w not in STOPWORDS),), 0.0, False))
    return entries


class MetierIndex:
    """Free text to ROME codes and job-title suggestions, lexical always, semantic when a model is loaded."""

    def __init__(self, rome: Rome, synonyms: list[Synonym], *, weights: ResolveWeights = DEFAULT_RESOLVE_WEIGHTS,
                 embedder: Embedder | None = None, cache: EmbeddingCache | None = None,
                 rare: set[str] | frozenset[str] = frozenset(), build_threads: int = 2) -> None:
        started = time.perf_counter()
        self.rome = rome
        self.weights = weights
        self.entries = build_entries(rome, synonyms, weights, rare)
        self.lexical = LexicalIndex([e.text for e in self.entries], weights)
        # Only slang is rewritten: a term made of real title words ("bois", "cuisine") keeps its meaning
        # in the query and acts through its synonym entry, or "charpentier bois" would turn into "menuisier".
        referential_words = {w for e in self.entries if e.kind != "synonym" for w in tokens(e.text)}
        self.rewriter = Rewriter(synonyms, referential_words)
        self._targets = sorted({t for e in self.entries for t in e.targets})
        self._target_row = {target: i for i, target in enumerate(self._targets)}
        # Every (entry, target) pair but domain labels', for coverage summed across a code's names.
        pairs = [(i, self._target_row[t], wt) for i, e in enumerate(self.entries) if e.kind != "domain"
                 for t, wt in zip(e.targets, e.weights)]
        self._lex_pair_entry = np.asarray([p[0] for p in pairs], dtype=np.int32)
        self._lex_pair_target = np.asarray([p[1] for p in pairs], dtype=np.int32)
        self._lex_pair_weight = np.asarray([p[2] for p in pairs], dtype=np.float32)
        self._principal = {a.rome: a for a in rome.appellations.values() if a.principal}
        self._prior = np.asarray([e.prior for e in self.entries], dtype=np.float32)
        # Scores are shown on a 0-1 scale: a perfect lexical match plus its best bonuses is 1.
        self._max_score = 1.0 + weights.exact_bonus + weights.principal_bonus
        self.embedder = embedder
        self._vectors: np.ndarray | None = None
        if embedder is not None:
            self._build_semantic(embedder, cache, build_threads)
        log.info("métier index: %d entries, semantic=%s, built in %.1f s", len(self.entries),
                 embedder.name if self.semantic else "off", time.perf_counter() - started)

    # --- building -----------------------------------------------------------------------------------

    def _build_semantic(self, embedder: Embedder, cache: EmbeddingCache | None, build_threads: int) -> None:
        rows = [i for i, e in enumerate(self.entries) if e.embedded]
        try:
            self._vectors = embed_with_cache(embedder, cache, [self.entries[i].text for i in rows], build_threads)
        except Exception as exc:  # a broken model must degrade the service, not stop it
            log.warning("embedding the métier index failed, job search runs lexical-only: %s", exc)
            self.embedder = None
            return
        self._vector_rows = np.asarray(rows, dtype=np.int32)
        # One vector per target: the normalised weighted mean of its texts. Resolution compares the query
        # with 1.8k target vectors instead of 15k entry vectors, an 8× smaller product per request, and
        # the mean ranked the project's own queries as well as the best single text did.
        triples = [(self._target_row[target], vrow, weight)
                   for vrow, i in enumerate(rows)
                   for target, weight in zip(self.entries[i].targets, self.entries[i].weights)]
        pair_target = np.asarray([t[0] for t in triples], dtype=np.int32)
        pair_vector = np.asarray([t[1] for t in triples], dtype=np.int32)
        pair_weight = np.asarray([t[2] for t in triples], dtype=np.float32)
        centroids = np.zeros((len(self._targets), self._vectors.shape[1]), dtype=np.float32)
        np.add.at(centroids, pair_target, self._vectors[pair_vector] * pair_weight[:, None])
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        self._target_vectors = centroids / np.maximum(norms, 1e-9)

    @property
    def semantic(self) -> bool:
        """Whether the semantic side is on (a model loaded and the index embedded)."""
        return self.embedder is not None and self._vectors is not None

    # --- queries ------------------------------------------------------------------------------------

    def _analyse(self, text: str) -> _Query | None:
        words = tokens(text[:MAX_QUERY_CHARS], keep_stopwords=True)[: MAX_QUERY_TOKENS * 2]
        if not words:
            return None
        rewritten = self.rewriter.rewrite(words)
        variants: list[list[str]] = []
        for candidate in (words, rewritten):
            plain = [w for w in candidate if w not in STOPWORDS][:MAX_QUERY_TOKENS]
            split: list[str] = []
            for word in plain:
                split.extend(self.lexical.split_compound(word) or [word])
            for variant in (plain, split):
                if variant and variant not in variants:
                    variants.append(variant)
        if not variants:
            return None
        forms = {" ".join(w for w in v if w not in SOFT_WORDS) for v in variants} - {""}
        return _Query(variants, forms, " ".join(rewritten))

    def _entry_scores(self, query: _Query) -> np.ndarray:
        scores = np.zeros(len(self.entries), dtype=np.float32)
        for variant in query.variants:
            np.maximum(scores, self.lexical.score(variant, SOFT_WORDS), out=scores)
        return scores

    def _target_coverage(self, query: _Query) -> np.ndarray:
        """Per target, the idf-weighted share of query words found in any of its entries.

        The titles of one ROME fiche and the synonyms naming it are all names of one job, so evidence
        adds up across them: "technicien réseaux télécoms" may take "technicien réseaux" from one title
        and "télécoms" from another, "BTS NDRC commerce" two synonyms. Domain labels are left out (they
        point at a whole domain), and with one meaningful word there is nothing to add up.
        """
        best = np.zeros(len(self._targets), dtype=np.float32)
        for variant in query.variants:
            if sum(word not in SOFT_WORDS for word in variant) < 2:
                continue
            hits_per_word, total = self.lexical.word_hits(variant, SOFT_WORDS)
            if total <= 0.0:
                continue
            acc = np.zeros(len(self._targets), dtype=np.float32)
            for weight, hits in hits_per_word:
                pair_hits = hits[self._lex_pair_entry]
                found = np.flatnonzero(pair_hits)
                per_target = np.zeros(len(self._targets), dtype=np.float32)
                np.maximum.at(per_target, self._lex_pair_target[found], pair_hits[found] * self._lex_pair_weight[found])
                acc += weight * per_target
            np.maximum(best, acc / total, out=best)
        return best * self.weights.target_coverage_factor

    def _with_bonuses(self, query: _Query, scores: np.ndarray) -> dict[int, float]:
        """The best entries with exact/prefix/prior bonuses, as {entry: score}."""
        w = self.weights
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

    def _query_vector(self, query: _Query) -> np.ndarray | None:
        if not self.semantic:
            return None
        try:
            return self.embedder.encode([query.embed_text])[0]  # type: ignore[union-attr]
        except Exception as exc:  # a failing model must cost the semantic side only
            log.warning("query embedding failed, answering lexically: %s", exc)
            return None

    def _semantic_cosines(self, query: _Query) -> np.ndarray | None:
        """Cosine of the query with every embedded entry (autocomplete's fallback)."""
        vector = self._query_vector(query)
        return None if vector is None else _matvec(self._vectors, vector)

    def _semantic_share(self, best_lexical: float) -> float:
        """How much the semantic side counts, given how well the typed words were found (0-1+)."""
        w = self.weights
        confidence = min(1.0, max(0.0, best_lexical))
        return w.semantic_max - (w.semantic_max - w.semantic_min) * confidence

    def _normalise_cosine(self, cosines: np.ndarray) -> np.ndarray:
        w = self.weights
        return np.clip((cosines - w.semantic_floor) / (w.semantic_ceiling - w.semantic_floor), 0.0, 1.0)

    def resolve(self, text: str, limit: int = 10) -> list[RomeMatch]:
        """The ROME code families `text` means, best first; empty when nothing matches."""
        direct = ROME_CODE_RE.match(text or "")
        if direct and direct.group(1).upper() in self.rome:
            code = self.rome.codes[direct.group(1).upper()]
            return [RomeMatch(code.code, code.parent, code.label, 1.0)]
        query = self._analyse(text or "")
        if query is None:
            return []
        w = self.weights
        lexical = np.zeros(len(self._targets), dtype=np.float32)
        for i, score in self._with_bonuses(query, self._entry_scores(query)).items():
            entry = self.entries[i]
            for target, weight in zip(entry.targets, entry.weights):
                row = self._target_row[target]
                lexical[row] = max(lexical[row], score * weight)
        np.maximum(lexical, self._target_coverage(query), out=lexical)
        lexical[lexical < w.min_lexical] = 0.0
        vector = self._query_vector(query)
        matched = bool(lexical.any())
        if vector is None:
            fused = lexical
        else:
            semantic = _matvec(self._target_vectors, vector)
            matched = matched or float(semantic.max()) >= w.min_semantic_cosine
            share = self._semantic_share(float(lexical.max()))
            fused = (1.0 - share) * lexical + share * self._normalise_cosine(semantic)
        if not matched:
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
        scored = self._with_bonuses(query, self._entry_scores(query))
        scored = {i: s for i, s in scored.items() if s >= w.min_lexical}
        if self.semantic and max(scored.values(), default=0.0) < w.suggest_semantic_below:
            scored = self._fuse_semantic(query, scored)
        return self._suggestions(scored, limit)

    def _fuse_semantic(self, query: _Query, scored: dict[int, float]) -> dict[int, float]:
        """Entry scores mixing both sides, for queries the lexical side reads poorly (intents, paraphrases)."""
        w = self.weights
        cosines = self._semantic_cosines(query)
        if cosines is None or float(cosines.max()) < w.min_semantic_cosine:
            return scored
        semantic = self._normalise_cosine(cosines)
        share = self._semantic_share(max(scored.values(), default=0.0))
        fused = {i: (1.0 - share) * s for i, s in scored.items()}
        count = min(CANDIDATES, len(semantic))
        for vrow in np.argpartition(-semantic, count - 1)[:count].tolist():
            i = int(self._vector_rows[vrow])
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
