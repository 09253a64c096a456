"""NAF rév. 2 activity codes and La Bonne Boite's ROME↔NAF hiring mapping, both directions."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.referentials.csvfile import check, read_rows
from app.referentials.rome import Rome


@dataclass(frozen=True)
class NafCode:
    """One NAF sub-class."""

    code: str
    compact: str
    label: str
    division: str


class Naf:
    """NAF labels plus hiring counts per (ROME parent code, NAF) pair."""

    def __init__(self, codes: dict[str, NafCode], hirings: dict[tuple[str, str], int]) -> None:
        self.codes = codes
        self.hirings = hirings
        self.romes_of_naf: dict[str, dict[str, int]] = {}
        self.nafs_of_rome: dict[str, dict[str, int]] = {}
        for (rome, naf), count in hirings.items():
            self.romes_of_naf.setdefault(naf, {})[rome] = count
            self.nafs_of_rome.setdefault(rome, {})[naf] = count

    def label(self, compact: str) -> str:
        """The label of a NAF code in compact form (`1071C`), or '' when unknown."""
        found = self.codes.get(compact.replace(".", ""))
        return found.label if found else ""

    def rome_shares(self, naf: str) -> dict[str, float]:
        """Share of a NAF code's hirings going to each ROME parent code (sums to 1)."""
        counts = self.romes_of_naf.get(naf.replace(".", ""), {})
        total = sum(counts.values())
        return {rome: count / total for rome, count in counts.items()} if total else {}


def load_naf(root: Path, rome: Rome) -> Naf:
    """Read naf_rev2.csv and the curated ROME↔NAF mapping."""
    path = root / "naf" / "naf_rev2.csv"
    codes = {}
    for line, row in read_rows(path, ["code_naf", "code_naf_compact", "libelle_naf", "code_division"]):
        check(len(row["code_naf_compact"]) == 5, path, line, f"bad NAF code {row['code_naf_compact']!r}")
        codes[row["code_naf_compact"]] = NafCode(row["code_naf"], row["code_naf_compact"], row["libelle_naf"],
                                                 row["code_division"])
    path = root / "naf" / "rome_naf_mapping_lbb.csv"
    hirings: dict[tuple[str, str], int] = {}
    for line, row in read_rows(path, ["code_rome", "code_naf_compact", "embauches"]):
        check(row["code_rome"] in rome, path, line, f"unknown ROME code {row['code_rome']!r}")
        check(row["code_naf_compact"] in codes, path, line, f"unknown NAF code {row['code_naf_compact']!r}")
        check(row["embauches"].isdigit(), path, line, f"embauches is not a count: {row['embauches']!r}")
        hirings[(row["code_rome"], row["code_naf_compact"])] = int(row["embauches"])
    return Naf(codes, hirings)
