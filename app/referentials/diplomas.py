"""Diploma levels (national framework 2019) and the France Travail labels that map to them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.referentials.communes import fold
from app.referentials.csvfile import check, read_rows


@dataclass(frozen=True)
class DiplomaLevel:
    """One level of the national framework."""

    level: int
    usual: str
    label: str
    lba_key: str
    france_travail_code: str
    apprenticeship: bool


class Diplomas:
    """Levels 1–8 and the France Travail education labels, as a level number."""

    def __init__(self, levels: dict[int, DiplomaLevel], france_travail: dict[str, int | None]) -> None:
        self.levels = levels
        self._ft_by_label = {fold(label): level for label, level in france_travail.items()}

    @property
    def apprenticeship_levels(self) -> list[int]:
        """Levels offered as apprenticeship targets (3–7)."""
        return sorted(level for level, d in self.levels.items() if d.apprenticeship)

    def from_france_travail(self, label: str) -> int | None:
        """Level of a France Travail `niveauLibelle` ("Bac+2 ou équivalents" → 5); None when below CAP or unknown."""
        folded = fold(label)
        if folded in self._ft_by_label:
            return self._ft_by_label[folded]
        # Older payloads write the singular ("ou équivalent"): match on the part before "ou".
        head = folded.split(" ou ")[0].split(" et ")[0]
        for known, level in self._ft_by_label.items():
            if known.split(" ou ")[0].split(" et ")[0] == head:
                return level
        return None

    def from_catalogue(self, niveau: str) -> int | None:
        """Level of a catalogue `niveau` key such as "4 (Bac...)"."""
        match = re.match(r"\s*(\d)", niveau or "")
        return int(match.group(1)) if match and int(match.group(1)) in self.levels else None


def load_diplomas(root: Path) -> Diplomas:
    """Read both diploma tables of the data directory."""
    path = root / "diplomes" / "niveaux_diplomes.csv"
    levels = {}
    for line, row in read_rows(path, ["niveau", "equivalence_usuelle", "libelle_la_bonne_alternance",
                                      "cle_niveau_la_bonne_alternance", "code_niveau_formation_france_travail",
                                      "cadre_apprentissage"]):
        check(row["niveau"].isdigit(), path, line, f"niveau is not a number: {row['niveau']!r}")
        level = int(row["niveau"])
        levels[level] = DiplomaLevel(level, row["equivalence_usuelle"], row["libelle_la_bonne_alternance"],
                                     row["cle_niveau_la_bonne_alternance"],
                                     row["code_niveau_formation_france_travail"], row["cadre_apprentissage"] == "1")
    path = root / "diplomes" / "france_travail_niveaux_formation.csv"
    france_travail: dict[str, int | None] = {}
    for line, row in read_rows(path, ["code", "libelle", "niveau_cnc_equivalent"]):
        value = row["niveau_cnc_equivalent"]
        check(value == "" or value.isdigit(), path, line, f"niveau_cnc_equivalent is not a level: {value!r}")
        france_travail[row["libelle"]] = int(value) if value else None
    return Diplomas(levels, france_travail)
