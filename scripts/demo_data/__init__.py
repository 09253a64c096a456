"""Deterministic demo source files (France Travail offers, catalogue, predicted recruiters) from the referentials."""
from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from app.referentials import Referentials, get_referentials
from indexers.sources import DEMO_FILES as FILES, DEMO_MANIFEST as MANIFEST
from scripts.demo_data.companies import MAX_ROMES, NORMALIZED_PER_HIRE, ROME_THRESHOLD, generate_companies
from scripts.demo_data.formations import generate_formations
from scripts.demo_data.identifiers import UAI_LETTERS, luhn_digit, make_siret, make_uai
from scripts.demo_data.offers import generate_offers
from scripts.demo_data.world import JITTER_KM, SIZES, build_world

# The package's door: the generator, its scales and CLI, and the rules the tests check the files against.
__all__ = [
    "GENERATOR_VERSION", "JITTER_KM", "KINDS", "MAX_ROMES", "NORMALIZED_PER_HIRE", "ROME_THRESHOLD", "SCALES",
    "SIZES", "UAI_LETTERS", "generate", "luhn_digit", "main", "make_siret", "make_uai", "scale_counts",
]

GENERATOR_VERSION = 1
SCALES: dict[str, dict[str, int]] = {
    "small": {"companies": 5_000, "offers": 1_000, "formations": 500},
    "national": {"companies": 500_000, "offers": 100_000, "formations": 50_000},
}
KINDS = ("offers", "formations", "companies")


def scale_counts(scale: str, counts: Mapping[str, int] | None = None) -> dict[str, int]:
    """Item counts of a scale, with `counts` overriding some of them (tests use tiny counts)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    merged = {**SCALES[scale], **(counts or {})}
    if set(merged) != set(KINDS) or any(not isinstance(n, int) or n < 0 for n in merged.values()):
        raise ValueError(f"counts must be non-negative integers for {', '.join(KINDS)}")
    return merged


def generate(refs: Referentials, out_dir: Path, scale: str, seed: int = 42, progress: bool = False, *,
             today: date | None = None, counts: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Write the three demo source files and manifest.json into `out_dir`; returns the manifest plus timings.

    Files, in the sources' real formats with one array element per line:

    * `offres_france_travail.json`: an `/offres/search` response `{"filtresPossibles": [], "resultats": [...]}`;
    * `catalogue_formations.json`: an array of catalogue items (2022 schema plus the current fields the
      catalogue indexer reads: `lieu_formation_geo_coordonnees`, `date_debut`/`date_fin`,
      `entierement_a_distance`, and our `rdv_referrers`, see indexers.catalogue.map_formation);
    * `recruteurs_lba.json`: an array in the hiring-prediction algorithm's output format, coordinates
      projected like SIRENE (Lambert-93 in metropolitan France, local UTM systems overseas).

    Companies follow La Bonne Boite's rule: a company with NAF n and predicted yearly hirings p is
    shown for ROME r when share(n, r) × p ≥ ROME_THRESHOLD, share being r's part of n's hirings in the
    ROME↔NAF mapping; a company no ROME passes for would be invisible and is not written. A few
    deliberately broken items per file exercise the indexers' rejections; `expected_rejections` in
    the manifest counts them by reason. Same referentials, seed, counts and `today` (default: the
    current date) give byte-identical files.
    """
    started = time.perf_counter()
    sizes = scale_counts(scale, counts)
    today = today or date.today()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    world = build_world(refs)
    expected: dict[str, dict[str, int]] = {}
    with tqdm(total=sum(sizes.values()), disable=not progress, unit=" items", desc=f"demo data ({scale})") as bar:
        expected["offers"] = generate_offers(world, out_dir / FILES["offers"], sizes["offers"], seed, today,
                                             bar.update)
        expected["formations"] = generate_formations(world, out_dir / FILES["formations"], sizes["formations"],
                                                     seed, today, bar.update)
        expected["companies"] = generate_companies(world, out_dir / FILES["companies"], sizes["companies"], seed,
                                                   bar.update)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "scale": scale,
        "seed": seed,
        "reference_date": today.isoformat(),
        "counts": sizes,
        "files": dict(FILES),
        "expected_rejections": expected,
    }
    (out_dir / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return {**manifest, "out_dir": str(out_dir), "paths": {kind: str(out_dir / name) for kind, name in FILES.items()},
            "seconds": round(time.perf_counter() - started, 2)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    from app.config import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--out", type=Path, help="output directory (default: LBA_DEMO_DIR/<scale>)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--today", type=date.fromisoformat, help="reference date YYYY-MM-DD (default: today)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    out = args.out or Path(settings.demo_dir) / args.scale
    result = generate(get_referentials(settings.data_dir), out, args.scale, args.seed, progress=not args.quiet,
                      today=args.today)
    print(f"wrote {', '.join(f'{n} {kind}' for kind, n in result['counts'].items())} to {out} "
          f"in {result['seconds']} s")
    return 0
