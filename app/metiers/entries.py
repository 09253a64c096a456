"""The texts the métier index searches (ROME titles, labels, domains, synonyms) and the fiche documents it embeds."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.metiers.synonyms import Synonym
from app.metiers.text import STOPWORDS, tokens
from app.referentials.csvfile import read_rows
from app.referentials.rome import Rome
from ranking.resolve_weights import ResolveWeights


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
