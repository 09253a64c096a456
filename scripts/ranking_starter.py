"""Write ranking/judgements/starter.csv: judged queries over the demo data's busiest jobs and largest cities.

The grades follow the guidelines of ranking/judgements/README.md, written as property rules so that
the same file judges any demo scale or seed (ids change with them, properties do not).
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

from ranking.judged import COLUMNS, parse_rules

# Parent ROME codes with the most demo offers (counted in scripts/demo_data's output, small scale, seed 42).
ROMES = ["G1803", "M1607", "K2204", "D1214", "K1304", "N4101", "K1302", "N1103", "K1303", "G1602", "G1203",
         "J1501", "K2503", "F1703", "F1606", "M1612", "J1301", "G1501", "F1602", "M1203", "D1401", "D1507"]
CITIES = [("75056", "Paris"), ("69123", "Lyon"), ("13055", "Marseille"), ("31555", "Toulouse"),
          ("44109", "Nantes"), ("33063", "Bordeaux"), ("59350", "Lille"), ("67482", "Strasbourg"),
          ("34172", "Montpellier"), ("35238", "Rennes"), ("06088", "Nice")]
RADII = [10, 30, 60]
KINDS = ["formations,offers,companies", "formations,offers,companies", "offers", "offers,companies", "formations"]


def rules(kinds: str, radius: int) -> str:
    """The guidelines' grades for a query asking `kinds` within `radius` km."""
    out = []
    if "offers" in kinds:
        out += ["kind=offer;distance_km<=10;application_count<40 => 3",
                "kind=offer;distance_km<=30;age_days<=15;application_count<40 => 3",
                f"kind=offer;distance_km<={radius} => 2"]
    if "companies" in kinds:
        out += ["kind=company;distance_km<=10 => 2", f"kind=company;distance_km<={radius} => 1"]
    if "formations" in kinds:
        out += ["kind=formation;distance_km<=5 => 3" if kinds == "formations"
                else "kind=formation;distance_km<=10 => 2",
                f"kind=formation;distance_km<={radius} => 1"]
    return " | ".join(out)


# Free-text queries (`q`): what young people type for some of the busiest jobs above, resolved by the
# métier résolveur as the API resolves them; the last one names its city in the text (no insee).
TEXTS = [("serveur", "75056"), ("secrétaire", "69123"), ("agent d'entretien", "13055"),
         ("vendeuse prêt-à-porter", "31555"), ("chauffeur poids lourd", "44109"),
         ("préparateur de commandes", "33063"), ("commis de cuisine", "59350"), ("aide-soignant", "67482"),
         ("agent de sécurité", "34172"), ("maçon", "35238"), ("électricien", "06088"),
         ("cuisinier à Lyon", "")]


def free_text_rows() -> list[dict]:
    """Judged free-text queries, graded by the same guidelines as the ROME ones."""
    rows = []
    for n, (text, insee) in enumerate(TEXTS):
        radius, kinds = RADII[n % len(RADII)], KINDS[n % len(KINDS)]
        judged = rules(kinds, radius)
        parse_rules(judged)
        rows.append({"query_id": f"t{n + 1:03d}", "q": text, "romes": "", "insee": insee, "latitude": "",
                     "longitude": "", "radius": radius, "kinds": kinds, "judgements": judged,
                     "note": f"text {text!r}" + (f" around {insee}" if insee else "") + f", {radius} km"})
    return rows


def write_free_text(out: str = "ranking/judgements/free_text.csv") -> int:
    """Write the free-text judged queries."""
    with open(Path(out), "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(free_text_rows())
    return 0


def main(out: str = "ranking/judgements/starter.csv") -> int:
    rows = []
    for n in range(66):
        rome = ROMES[n % len(ROMES)]
        insee, city = CITIES[(n * 7) % len(CITIES)]
        radius, kinds = RADII[n % len(RADII)], KINDS[(n // 3) % len(KINDS)]
        judged = rules(kinds, radius)
        parse_rules(judged)  # never write a rule the reader refuses
        rows.append({"query_id": f"q{n + 1:03d}", "q": "", "romes": rome, "insee": insee, "latitude": "",
                     "longitude": "", "radius": radius, "kinds": kinds, "judgements": judged,
                     "note": f"{rome} around {city}, {radius} km"})
    with open(Path(out), "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--free-text"]:
        sys.exit(write_free_text(*sys.argv[2:]))
    sys.exit(main(*sys.argv[1:]))
