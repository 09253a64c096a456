"""Guidance modules for young people: which ones exist, and the apprentice pay table read from its data file."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PAY_FILE = Path(__file__).parent / "guidance_data" / "remuneration_apprentis.csv"


@dataclass(frozen=True)
class Module:
    """One guidance page: its slug (URL), title and one-line summary."""

    slug: str
    title: str
    summary: str


MODULES = {m.slug: m for m in (
    Module("contacter-un-cfa", "Contacter un centre de formation (CFA)",
           "Quoi demander, quand appeler, et comment le centre peut vous aider à trouver un employeur."),
    Module("trouver-une-entreprise", "Trouver une entreprise par vous-même",
           "Repérer les entreprises qui recrutent, envoyer une candidature spontanée et relancer."),
    Module("preparer-un-entretien", "Préparer un entretien d'embauche",
           "Se renseigner sur l'entreprise, préparer ses réponses et ses questions, le jour J."),
    Module("contrat-d-apprentissage", "Le contrat d'apprentissage",
           "Durée, temps de travail, rémunération selon l'âge et l'année, aides et droits."),
)}


@dataclass(frozen=True)
class PayRow:
    """Minimum pay of one age band, in percent of the SMIC, for years 1 to 3 of the contract."""

    age: str
    percents: tuple[int, int, int]


@lru_cache(maxsize=1)
def pay_table(path: Path = PAY_FILE) -> list[PayRow]:
    """The apprentice pay table (see guidance_data/README.md for its source)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [PayRow(row["age"], (int(row["annee_1"]), int(row["annee_2"]), int(row["annee_3"])))
                for row in csv.DictReader(handle)]
