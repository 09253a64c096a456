"""ROME 4.0 codes, their parent (historic) codes, domains and appellations."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.referentials.csvfile import check, read_rows

ROME_PATTERN = re.compile(r"^[A-N]\d{4}$")


@dataclass(frozen=True)
class RomeCode:
    """One ROME 4.0 fiche."""

    code: str
    label: str
    parent: str
    label_v3: str
    grand_domaine: str
    domaine: str


@dataclass(frozen=True)
class Appellation:
    """One of the ~13k job titles, attached to a ROME code."""

    code_ogr: str
    label: str
    short_label: str
    rome: str
    parent: str
    principal: bool


class Rome:
    """ROME codes with the parent → children mapping both ways."""

    def __init__(self, codes: Iterable[RomeCode], appellations: Iterable[Appellation],
                 grands_domaines: dict[str, str], domaines: dict[str, str]) -> None:
        self.codes: dict[str, RomeCode] = {c.code: c for c in codes}
        self.appellations: dict[str, Appellation] = {a.code_ogr: a for a in appellations}
        self.grands_domaines = grands_domaines
        self.domaines = domaines
        children: dict[str, list[str]] = {}
        for code in self.codes.values():
            children.setdefault(code.parent, []).append(code.code)
        self._children = {parent: tuple(sorted(kids)) for parent, kids in children.items()}

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def parent_of(self, code: str) -> str:
        """The parent (historic) code of `code`; a parent code is its own parent."""
        return self.codes[code].parent

    def children_of(self, parent: str) -> tuple[str, ...]:
        """Every code under `parent`, the parent itself included."""
        return self._children.get(parent, ())

    def expand(self, codes: Iterable[str]) -> list[str]:
        """Codes a search on `codes` must match: each code, plus the children of parent codes."""
        out: dict[str, None] = {}
        for code in codes:
            out[code] = None
            for child in self._children.get(code, ()):
                out[child] = None
        return list(out)

    def index_codes(self, codes: Iterable[str]) -> list[str]:
        """Codes a document carrying `codes` is indexed under: each code and its parent.

        Indexing the parent too is what lets a query on `D1102` find a document tagged `D1108`.
        """
        out: dict[str, None] = {}
        for code in codes:
            out[code] = None
            known = self.codes.get(code)
            if known is not None:
                out[known.parent] = None
        return list(out)

    @property
    def parents(self) -> list[str]:
        """The 532 parent codes, sorted."""
        return sorted(code for code, rc in self.codes.items() if rc.parent == code)


def load_rome(root: Path) -> Rome:
    """Read the ROME files of the data directory."""
    folder = root / "rome"
    path = folder / "rome_grands_domaines.csv"
    grands = {row["code_grand_domaine"]: row["libelle_grand_domaine"]
              for _, row in read_rows(path, ["code_grand_domaine", "libelle_grand_domaine"])}
    path = folder / "rome_domaines_professionnels.csv"
    domaines = {row["code_domaine_professionnel"]: row["libelle_domaine_professionnel"]
                for _, row in read_rows(path, ["code_domaine_professionnel", "libelle_domaine_professionnel"])}
    path = folder / "rome_codes.csv"
    codes = []
    for line, row in read_rows(path, ["code_rome", "libelle_rome", "code_rome_parent", "libelle_rome_v3",
                                      "code_grand_domaine", "code_domaine_professionnel"]):
        check(bool(ROME_PATTERN.match(row["code_rome"])), path, line, f"bad ROME code {row['code_rome']!r}")
        check(bool(ROME_PATTERN.match(row["code_rome_parent"])), path, line,
              f"bad parent ROME code {row['code_rome_parent']!r}")
        check(bool(row["libelle_rome"]), path, line, "empty libelle_rome")
        codes.append(RomeCode(row["code_rome"], row["libelle_rome"], row["code_rome_parent"],
                              row["libelle_rome_v3"], row["code_grand_domaine"], row["code_domaine_professionnel"]))
    known = {c.code for c in codes}
    path = folder / "rome_appellations.csv"
    appellations = []
    for line, row in read_rows(path, ["code_ogr", "libelle_appellation_long", "libelle_appellation_court",
                                      "code_rome", "code_rome_parent", "classification"]):
        check(row["code_rome"] in known, path, line, f"unknown ROME code {row['code_rome']!r}")
        check(bool(row["code_ogr"]), path, line, "empty code_ogr")
        appellations.append(Appellation(row["code_ogr"], row["libelle_appellation_long"],
                                        row["libelle_appellation_court"], row["code_rome"],
                                        row["code_rome_parent"], row["classification"] == "PRINCIPALE"))
    return Rome(codes, appellations, grands, domaines)
