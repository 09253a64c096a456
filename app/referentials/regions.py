"""Regions and departments (communes/regions.csv, departements.csv): the region of a place, by name."""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.referentials.csvfile import read_rows

#: The region key of a place whose department is unknown.
UNKNOWN = ""


@dataclass(frozen=True)
class Regions:
    """Region names by code and the region of each department code."""

    names: dict[str, str]
    of_department: dict[str, str]

    def department_of(self, insee: str = "", postcode: str = "") -> str:
        """The department code an INSEE code or a postal code starts with ("" when neither is known).

        Overseas codes have three digits (971…989); Corsica's INSEE codes start with 2A/2B and its
        postal codes with 20 (200xx–201xx are Corse-du-Sud, 202xx–206xx Haute-Corse).
        """
        for code in (insee.strip().upper(), postcode.strip()):
            if len(code) != 5:
                continue
            if code[:2] in ("97", "98") and code[:3] in self.of_department:
                return code[:3]
            if code[:2] == "20" and code.isdigit():
                return "2A" if code[2] in "01" else "2B"
            if code[:2] in self.of_department:
                return code[:2]
        return ""

    def region_of(self, department: str = "", insee: str = "", postcode: str = "") -> str:
        """The region code of a place from its department, else its INSEE or postal code (UNKNOWN if none)."""
        code = department.strip().upper()
        if code not in self.of_department:
            code = self.department_of(insee, postcode)
        return self.of_department.get(code, UNKNOWN)

    def region_of_place(self, place: Mapping[str, Any] | None) -> str:
        """The region code of a document's `place` block."""
        place = place or {}
        return self.region_of(str(place.get("department") or ""), str(place.get("insee") or ""),
                              str(place.get("postcode") or ""))


def load_regions(root: Path) -> Regions:
    """Read regions.csv and departements.csv of the data directory."""
    names = {row["code_region"]: row["nom"]
             for _, row in read_rows(root / "communes" / "regions.csv", ["code_region", "nom"])}
    departments = {row["code_departement"]: row["code_region"]
                   for _, row in read_rows(root / "communes" / "departements.csv", ["code_departement", "code_region"])}
    return Regions(names, departments)


_cache: dict[str, Regions] = {}
_lock = threading.Lock()


def get_regions(data_dir: str | Path) -> Regions:
    """The regions of `data_dir`, read on first use (two small files, kept for the process)."""
    key = str(Path(data_dir).resolve())
    with _lock:
        if key not in _cache:
            _cache[key] = load_regions(Path(key))
        return _cache[key]
