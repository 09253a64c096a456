"""What each scheduled job reads and how cautious it is, from the environment (`JobSettings.from_env`)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from indexers.sources import DEMO_FILES

DEFAULT_MIN_RATIO = 0.5


@dataclass(frozen=True)
class JobSettings:
    """Where each job reads its source and how cautious it is; `from_env()` documents the variables."""

    min_ratio: float = DEFAULT_MIN_RATIO
    ft_offers_file: str = ""
    ft_departements: tuple[str, ...] = ()
    catalogue_source: str = ""
    recruiters_source: str = ""
    referentials_urls: str = ""
    referentials_sources: str = ""
    referentials_dir: str = ""
    hiring_companies: str = ""
    hiring_history: str = ""

    @classmethod
    def from_env(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> "JobSettings":
        """Read the job settings; in demo mode only (LBA_DEMO=1) file sources default to the demo files
        of LBA_DEMO_DIR/DEMO_SCALE; otherwise a job whose source is not set fails naming its variable.

        LBA_MIN_RATIO           a build with fewer than this share of the last published run's documents
                                is not published (default 0.5, i.e. a drop of more than 50 %)
        LBA_FT_OFFERS_FILE      France Travail /offres/search response file, read when no API credentials
                                (LBA_FT_CLIENT_ID/SECRET) are set (demo mode: the demo offers file)
        LBA_FT_DEPARTEMENTS     comma list restricting the API import to these départements (default: all)
        LBA_CATALOGUE_SOURCE    path or http(s) URL of the catalogue's JSON array of formations
        LBA_RECRUITERS_SOURCE   path or http(s) URL of the predicted recruiters JSON array
        LBA_REFERENTIALS_URLS   `relative/path.csv=https://…` pairs to download into a fresh data directory
        LBA_REFERENTIALS_SOURCES  official open-data distributions to download and convert into it:
                                `format=URL` entries separated by spaces or new lines, formats `geo-api`
                                (API base URL), `rome-csv` (France Travail RefRomeCsv zip, or its CSV
                                files one entry each) and `insee-naf-xls` (int_courts_naf_rev_2.xls)
        LBA_REFERENTIALS_DIR    where downloaded data directories are built (default var/referentials;
                                `current` links to the one in use)
        LBA_HIRING_COMPANIES    company file of the hiring history (README "Hidden market"); with
        LBA_HIRING_HISTORY      the monthly hires file, the weekly `hiring` job writes the predicted
                                recruiters file to LBA_RECRUITERS_SOURCE before the `recruiters` import
        """
        env = os.environ if environ is None else environ
        demo = Path(settings.demo_dir) / settings.demo_scale

        def demo_default(key: str) -> str:
            # Demo data is never a silent production default: only an explicit LBA_DEMO=1 reads it.
            return str(demo / DEMO_FILES[key]) if settings.demo else ""

        text = env.get("LBA_MIN_RATIO", str(DEFAULT_MIN_RATIO))
        try:
            ratio = float(text)
        except ValueError:
            raise ValueError(f"LBA_MIN_RATIO must be a number, got {text!r}") from None
        if not 0 <= ratio <= 1:
            raise ValueError(f"LBA_MIN_RATIO must be between 0 and 1, got {ratio}")
        departements = tuple(d.strip().upper() for d in env.get("LBA_FT_DEPARTEMENTS", "").split(",") if d.strip())
        return cls(
            min_ratio=ratio,
            ft_offers_file=env.get("LBA_FT_OFFERS_FILE") or demo_default("offers"),
            ft_departements=departements,
            catalogue_source=env.get("LBA_CATALOGUE_SOURCE") or demo_default("formations"),
            recruiters_source=env.get("LBA_RECRUITERS_SOURCE") or demo_default("companies"),
            referentials_urls=env.get("LBA_REFERENTIALS_URLS", ""),
            referentials_sources=env.get("LBA_REFERENTIALS_SOURCES", ""),
            referentials_dir=env.get("LBA_REFERENTIALS_DIR") or str(Path(settings.index_dir).parent / "referentials"),
            hiring_companies=env.get("LBA_HIRING_COMPANIES", ""),
            hiring_history=env.get("LBA_HIRING_HISTORY", ""),
        )
