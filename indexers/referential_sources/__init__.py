"""Converters from the official open-data referentials (geo.api.gouv.fr, ROME 4.0, INSEE NAF) to data-directory CSV."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from indexers.referential_sources import geo_api, insee_naf, rome_csv
from indexers.referential_sources.common import ConversionError, SourceFormat

FORMATS: dict[str, SourceFormat] = {f.name: f for f in (geo_api.FORMAT, rome_csv.FORMAT, insee_naf.FORMAT)}


def parse_sources(text: str) -> dict[str, list[str]]:
    """`format=URL` entries separated by spaces or new lines → {format: [URL, …]} in the order given.

    Commas do not separate entries here: API URLs carry them in their query strings. A format may
    be given several URLs only when it reads several files (the ROME export's single CSV files).
    """
    out: dict[str, list[str]] = {}
    for entry in text.split():
        name, sep, url = entry.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise ValueError(f"LBA_REFERENTIALS_SOURCES: expected format=URL, got {entry!r}")
        if name not in FORMATS:
            raise ValueError(f"LBA_REFERENTIALS_SOURCES: unknown format {name!r}, one of {', '.join(FORMATS)}")
        out.setdefault(name, []).append(url)
        if FORMATS[name].single_url and len(out[name]) > 1:
            raise ValueError(f"LBA_REFERENTIALS_SOURCES: {name} takes one URL")
    return out


def outputs(sources: Mapping[str, Sequence[str]]) -> set[str]:
    """Data-directory paths the declared sources write."""
    return {path for name in sources for path in FORMATS[name].outputs}


__all__ = ["FORMATS", "ConversionError", "SourceFormat", "outputs", "parse_sources"]
