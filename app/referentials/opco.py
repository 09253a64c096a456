"""The 11 OPCO and the collective agreement (IDCC) → OPCO table."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.referentials.csvfile import check, read_rows


@dataclass(frozen=True)
class Opco:
    """One opérateur de compétences."""

    code: str
    name: str
    label: str


class Opcos:
    """OPCO by code and by IDCC."""

    def __init__(self, opcos: dict[str, Opco], by_idcc: dict[str, str]) -> None:
        self.opcos = opcos
        self.by_idcc = by_idcc

    def for_idcc(self, idcc: str) -> Opco | None:
        """The OPCO of a collective agreement (IDCC, zero-padded or not)."""
        code = self.by_idcc.get(idcc.strip().zfill(4))
        return self.opcos.get(code) if code else None


def load_opcos(root: Path) -> Opcos:
    """Read opcos.csv and idcc_opco.csv."""
    path = root / "opco" / "opcos.csv"
    opcos = {row["code_opco"]: Opco(row["code_opco"], row["nom_usuel"], row["libelle_la_bonne_alternance"])
             for _, row in read_rows(path, ["code_opco", "nom_usuel", "libelle_la_bonne_alternance"])}
    path = root / "opco" / "idcc_opco.csv"
    by_idcc = {}
    for line, row in read_rows(path, ["idcc", "code_opco"]):
        check(row["code_opco"] in opcos, path, line, f"unknown OPCO {row['code_opco']!r}")
        if row["idcc"]:
            by_idcc[row["idcc"]] = row["code_opco"]
    return Opcos(opcos, by_idcc)
