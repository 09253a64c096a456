"""The métier index: ROME labels, appellations, domains and synonyms, searched lexically and semantically."""
from __future__ import annotations

import logging
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.metiers.embeddings import Embedder, VectorStore, uses_torch
from app.metiers.lexical import LexicalIndex
from app.metiers.places import PlaceInText, find_place
from app.metiers.synonyms import Rewriter, Synonym, load_activities, read_activities
from app.metiers.text import MAX_QUERY_CHARS, MAX_QUERY_TOKENS, SOFT_WORDS, STOPWORDS, tokens
from app.referentials.communes import Communes
from app.referentials.csvfile import read_rows
from app.referentials.rome import Rome
from ranking.resolve_weights import DEFAULT_RESOLVE_WEIGHTS, ResolveWeights

log = logging.getLogger(__name__)

ROME_CODE_RE = re.compile(r"^\s*([A-Na-n]\d{4})\s*$")
# Entries re-scored with bonuses after the vectorised pass: far more than any page shows.
CANDIDATES = 300
KINDS_SHOWN = ("appellation", "rome", "rome_v3", "synonym")
# Résolution needs one word of at least this many letters (or a listed short term such as "RH"): digits
# and one- or two-letter fragments ("' OR 1=1 --", "%ff%fe") are not evidence of a job.
MEANINGFUL_CHARS = 3


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


class Resolution(list):
    """The résolveur's answer: RomeMatch items best first, and the place the text named, if any."""

    def __init__(self, matches=(), place: PlaceInText | None = None) -> None:
        super().__init__(matches)
        self.place = place


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
    # The query with its unknown words spelt as the closest indexed words, when any was corrected.
    corrected: list[str] | None = None
    # The query with the things it names read as the jobs working on them ("viande" → "boucher").
    activity: list[str] | None = None


def _matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """matrix @ vector on the embedder's single torch thread when torch is loaded already.

    numpy's OpenBLAS would start its own thread pool for this small product; its spinning threads then
    compete with the next query's forward pass for the same cores and slow both several times over.
    The torch-free backends get numpy's product on the memory-mapped rows.
    """
    if not uses_torch():
        return np.asarray(matrix @ vector, dtype=np.float32)
    import torch

    with warnings.catch_warnings():
        # The mapped vectors are read-only; torch warns about tensors it could write, mv only reads.
        warnings.simplefilter("ignore", UserWarning)
        return torch.mv(torch.from_numpy(np.asarray(matrix)), torch.from_numpy(vector)).numpy()


# Titles of a fiche added to its document, beyond its own label: enough for meaning, few enough that a
# first start embeds 1.6k short documents rather than 15k titles (rare titles left out).
FICHE_TITLES = 6


def _masculine(label: str) -> str:
    """One reading of "Conducteur / Conductrice d'engins": "Conducteur d'engins" (half the tokens)."""
    if " / " not in label:
        return label
    left, right = label.split(" / ", 1)
    return " ".join([left, *right.split()[len(left.split()):]])


def fiche_documents(rome: Rome, rare: set[str] | frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
    """(codes, texts): one document per ROME fiche for the semantic side.

    Its label, its ROME v3 label, its professional domain and its first common titles. The referential
    files of this project carry no definitions or activities (data/README.md); these are its richest
    texts, and one document per fiche gives meaning more to match than any single title.
    """
    titles: dict[str, list[str]] = {}
    for app in sorted(rome.appellations.values(), key=lambda a: (not a.principal, a.label)):
        if app.code_ogr not in rare:
            titles.setdefault(app.rome, []).append(_masculine(app.label))
    codes, texts = [], []
    for code in rome.codes.values():
        own = _masculine(code.label)
        others = [t for t in dict.fromkeys(titles.get(code.code, ())) if t != own][:FICHE_TITLES]
        parts = [own, code.label_v3 or "", rome.domaines.get(code.domaine, ""), ", ".join(others)]
        codes.append(code.code)
        texts.append(". ".join(p for p in parts if p))
    return codes, texts


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
        # Short words that name a job on their own ("rh", "pl", "bts"...): the synonym list's terms.
        self._short_terms = {syn.words[0] for syn in synonyms if len(syn.words) == 1 and
                             len(syn.words[0]) < MEANINGFUL_CHARS and not syn.words[0].isdigit()}
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
            self.weights = weights = weights.for_model(embedder.name)
            self._build_semantic(embedder, store, rare, referential_version)
        log.info("métier index: %d entries, semantic=%s, built in %.1f s", len(self.entries),
                 embedder.name if self.semantic and embedder is not None else "off", time.perf_counter() - started)

    # --- building -----------------------------------------------------------------------------------

    def _build_semantic(self, embedder: Embedder, store: VectorStore | None, rare: set[str] | frozenset[str],
                        referential_version: str) -> None:
        codes, texts = fiche_documents(self.rome, rare)
        try:
            if store is not None:
                self._vectors = store.load_or_build(embedder, texts, referential_version)
            else:
                self._vectors = embedder.encode_passages(texts)
        except Exception as exc:  # a broken model must degrade the service, not stop it
            log.warning("embedding the métier index failed, job search runs lexical-only: %s", exc)
            self.embedder = None
            self._vectors = None
            return
        row = {code: i for i, code in enumerate(codes)}
        # Each (code, parent) target reads its fiche's row; the product runs over the mapped fiche rows.
        self._target_doc = np.asarray([row[code] for code, _ in self._targets], dtype=np.int32)
        # Autocomplete's semantic fallback shows a fiche through its main title (or its label entry).
        doc_entry = np.full(len(codes), -1, dtype=np.int32)
        for i, entry in enumerate(self.entries):
            if entry.kind in ("appellation", "rome") and len(entry.targets) == 1:
                r = row[entry.targets[0][0]]
                if doc_entry[r] < 0 or (entry.kind == "appellation" and
                                        self.rome.appellations[entry.appellation_code].principal):
                    doc_entry[r] = i
        self._doc_entry = doc_entry

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
        # The model reads the corrected spelling: a typo is other letters to it, not the same job.
        spelt = [self.lexical.correct(w) if w not in STOPWORDS else w for w in rewritten]
        plain = [w for w in spelt if w not in STOPWORDS][:MAX_QUERY_TOKENS]
        corrected = plain if plain not in variants else None
        forms = {" ".join(w for w in v if w not in SOFT_WORDS) for v in [*variants, plain]} - {""}
        activity = read_activities(plain, self.activities, self._keeps_in_activity)
        return _Query(variants, forms, " ".join(spelt), corrected, activity or None)

    def _keeps_in_activity(self, word: str) -> bool:
        """Whether a word stays beside the job words of an activity reading: not an intent word, nor an
        activity verb the index does not know ("couper", "installer"): the thing worked on says more."""
        if word in SOFT_WORDS:
            return False
        return not (len(word) >= 6 and word.endswith(("er", "ir", "re")) and not self.lexical.knows(word))

    def _entry_scores(self, query: _Query) -> np.ndarray:
        scores = np.zeros(len(self.entries), dtype=np.float32)
        for variant in query.variants:
            np.maximum(scores, self.lexical.score(variant, SOFT_WORDS), out=scores)
        if query.corrected:
            # Read as typed words, a correction is only as sure as a typo match: discounted.
            corrected = self.lexical.score(query.corrected, SOFT_WORDS) * self.weights.corrected_factor
            np.maximum(scores, corrected, out=scores)
        if query.activity:
            activity = self.lexical.score(query.activity, SOFT_WORDS) * self.weights.activity_factor
            np.maximum(scores, activity, out=scores)
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
            return self.embedder.encode_queries([query.embed_text])[0]  # type: ignore[union-attr]
        except Exception as exc:  # a failing model must cost the semantic side only
            log.warning("query embedding failed, answering lexically: %s", exc)
            return None

    def _semantic_cosines(self, query: _Query) -> np.ndarray | None:
        """Cosine of the query with every fiche document."""
        vector = self._query_vector(query)
        return None if vector is None or self._vectors is None else _matvec(self._vectors, vector)

    def _semantic_share(self, best_lexical: float) -> float:
        """How much the semantic side counts, given how well the typed words were found (0-1+)."""
        w = self.weights
        confidence = min(1.0, max(0.0, best_lexical))
        return w.semantic_max - (w.semantic_max - w.semantic_min) * confidence

    def _normalise_cosine(self, cosines: np.ndarray) -> np.ndarray:
        w = self.weights
        return np.clip((cosines - w.semantic_floor) / (w.semantic_ceiling - w.semantic_floor), 0.0, 1.0)

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
        if query is None or not self._meaningful(text):
            return []
        lexical = self._lexical_targets(query)
        best_lexical = float(lexical.max())
        # A full lexical match leaves the semantic side a tie-breaker's share: skip the query embedding.
        wants_vector = semantic and best_lexical < self.weights.embed_below_lexical
        return self._combine(lexical, self._target_cosines(query) if wants_vector else None, limit)

    def _lexical_targets(self, query: _Query) -> np.ndarray:
        """Per (code, parent) target, its best lexical score (entries and summed coverage)."""
        lexical = np.zeros(len(self._targets), dtype=np.float32)
        for i, score in self._with_bonuses(query, self._entry_scores(query)).items():
            entry = self.entries[i]
            for target, weight in zip(entry.targets, entry.weights):
                row = self._target_row[target]
                lexical[row] = max(lexical[row], score * weight)
        np.maximum(lexical, self._target_coverage(query), out=lexical)
        lexical[lexical < self.weights.min_lexical] = 0.0
        return lexical

    def _target_cosines(self, query: _Query) -> np.ndarray | None:
        """Per target, the cosine of the query with its fiche document; None without a vector."""
        vector = self._query_vector(query)
        return None if vector is None or self._vectors is None else _matvec(self._vectors, vector)[self._target_doc]

    def _combine(self, lexical: np.ndarray, cosines: np.ndarray | None, limit: int) -> list[RomeMatch]:
        """Both sides fused per target, under the confidence floor: families best first, or none."""
        w = self.weights
        best_lexical = float(lexical.max())
        confidence = best_lexical
        if cosines is None:
            fused = lexical
        else:
            normalised = self._normalise_cosine(cosines)
            share = self._semantic_share(best_lexical)
            fused = (1.0 - share) * lexical + share * normalised
            confidence = max(confidence, float(normalised.max()) * w.semantic_confidence)
        # The floor: junk ("' OR 1=1 --", "%ff%fe") finds stray prefixes or a weak cosine somewhere; under
        # this confidence the honest answer is "no job for this text".
        if confidence < w.min_confidence or not fused.any():
            return []
        return self._families(fused, limit)

    def _meaningful(self, text: str) -> bool:
        """Whether `text` has a word that can carry a job: 3+ letters, not only digits, or a listed term."""
        for word in tokens(text[:MAX_QUERY_CHARS]):
            if word in SOFT_WORDS:
                continue
            if (len(word) >= MEANINGFUL_CHARS and not word.isdigit()) or word in self._short_terms:
                return True
        return False

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
