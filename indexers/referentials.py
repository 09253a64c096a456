"""Referentials refresh: validate the data directory by loading it, optionally rebuild it from open-data URLs."""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import requests

from app.referentials import ReferenceDataError, Referentials, load_referentials
from indexers import referential_sources
from indexers.referential_sources import ConversionError
from indexers.sources import SourceError, download

log = logging.getLogger(__name__)

CURRENT = "current"
STAGING_SUFFIX = ".staging"


class RefreshRefused(RuntimeError):
    """Downloaded referentials load but are much smaller than the ones in use: kept aside, not switched to."""


def counts(refs: Referentials) -> dict[str, int]:
    """Rows per table, the figures a run records and a refresh compares."""
    return {"rome_codes": len(refs.rome.codes), "rome_appellations": len(refs.rome.appellations),
            "communes": len(refs.communes), "naf_codes": len(refs.naf.codes), "rome_naf_pairs": len(refs.naf.hirings),
            "diploma_levels": len(refs.diplomas.levels), "opcos": len(refs.opcos.opcos),
            "idcc": len(refs.opcos.by_idcc)}


def validate(data_dir: str | Path) -> dict[str, int]:
    """Load every reference file of `data_dir` (ReferenceDataError names the bad file and line); rows per table."""
    return counts(load_referentials(data_dir))


def parse_urls(text: str) -> dict[str, str]:
    """`communes/communes.csv=https://…` pairs separated by spaces, commas or new lines → {relative path: URL}.

    Each path is where the file sits in the data directory; it must stay inside it.
    """
    out: dict[str, str] = {}
    for pair in filter(None, re.split(r"[\s,]+", text.strip())):
        name, sep, url = pair.partition("=")
        relative = PurePosixPath(name.strip())
        if not sep or not url.startswith(("http://", "https://")):
            raise ValueError(f"LBA_REFERENTIALS_URLS: expected path=URL, got {pair!r}")
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"LBA_REFERENTIALS_URLS: {name!r} must be a path inside the data directory")
        out[str(relative)] = url
    return out


@dataclass
class RefreshResult:
    """What a refresh did: the directory now in use, rows per table, files downloaded, files converted per source."""

    data_dir: Path
    counts: dict[str, int]
    downloaded: list[str] = field(default_factory=list)
    previous_counts: dict[str, int] = field(default_factory=dict)
    converted: dict[str, dict[str, int]] = field(default_factory=dict)


def refresh(data_dir: str | Path, target_root: str | Path | None = None, urls: Mapping[str, str] | None = None,
            min_ratio: float = 0.5, session: requests.Session | None = None,
            fetch: Callable[..., Path] = download,
            sources: Mapping[str, Sequence[str]] | None = None) -> RefreshResult:
    """Validate `data_dir`; with `urls` or `sources`, build a new copy of it and switch to it.

    `urls` are files already in the data directory's format ({relative path: URL}); `sources` are
    official distributions ({format: [URL, …]}, see `referential_sources.FORMATS`) downloaded then
    converted into the copy. The new copy is written beside the others under `target_root`, loaded
    in full, compared with the tables in use (a table that lost more than `1 - min_ratio` of its rows
    is refused), then published by swapping the `current` symlink, so readers never see a
    half-written directory. A failed download or conversion leaves the directory in use untouched.
    Point LBA_DATA_DIR at `target_root/current` to use it.
    """
    in_use = validate(data_dir)
    urls, sources = dict(urls or {}), {name: list(u) for name, u in (sources or {}).items()}
    if not urls and not sources:
        return RefreshResult(Path(data_dir), in_use)
    if target_root is None:
        raise ValueError("a download needs a target directory (LBA_REFERENTIALS_DIR)")
    unknown = sorted(set(sources) - set(referential_sources.FORMATS))
    if unknown:
        raise ValueError(f"unknown referentials source format(s) {', '.join(unknown)}")
    both = sorted(set(urls) & referential_sources.outputs(sources))
    if both:
        raise ValueError(f"{', '.join(both)}: given both as a file to download (LBA_REFERENTIALS_URLS) and as the "
                         "output of an official source (LBA_REFERENTIALS_SOURCES)")
    root = Path(target_root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    staging = root / f"{stamp}{STAGING_SUFFIX}"
    try:
        _copy_tree(Path(data_dir), staging)
        for relative, url in urls.items():
            dest = staging / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            fetch(url, dest, session)
        converted = {name: _convert_source(name, source_urls, staging, session, fetch)
                     for name, source_urls in sources.items()}
        new_counts = validate(staging)
        shrunk = {name: (new_counts.get(name, 0), count) for name, count in in_use.items()
                  if new_counts.get(name, 0) < min_ratio * count}
        if shrunk:
            raise RefreshRefused("downloaded referentials shrank: " + ", ".join(
                f"{name} {new} < {min_ratio:g} × {old}" for name, (new, old) in sorted(shrunk.items())))
        final = root / stamp
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _point_current(root, final)
    _drop_old(root, keep={final.name, Path(data_dir).resolve().name})
    log.info("referentials switched to %s (%s)", final, new_counts)
    return RefreshResult(root / CURRENT, new_counts, sorted(urls), in_use, converted)


def _convert_source(name: str, urls: Sequence[str], staging: Path, session: requests.Session | None,
                    fetch: Callable[..., Path]) -> dict[str, int]:
    """Download one official source into a scratch directory, then convert it into `staging`.

    The raw downloads stay out of the data directory: only the converted files are published.
    """
    spec = referential_sources.FORMATS[name]
    with tempfile.TemporaryDirectory(prefix=f"lba-{name}-") as scratch:
        files = []
        for filename, url in spec.downloads(urls):
            dest = Path(scratch) / filename
            try:
                fetch(url, dest, session)
            except (SourceError, requests.RequestException) as exc:
                raise SourceError(f"{name} source: {exc}") from exc
            files.append(dest)
        written = spec.convert(files, staging)
    log.info("referentials source %s converted: %s", name, written)
    return written


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy the files of `source` without their modes (the shared data directory is read-only)."""
    for path in sorted(source.rglob("*")):
        if path.is_file():
            target = dest / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    dest.mkdir(parents=True, exist_ok=True)


def _point_current(root: Path, final: Path) -> None:
    """Swap the `current` symlink atomically (a new link renamed over the old one)."""
    tmp = root / f"{CURRENT}.{final.name}"
    tmp.unlink(missing_ok=True)
    os.symlink(final.name, tmp)
    os.replace(tmp, root / CURRENT)


def _drop_old(root: Path, keep: set[str]) -> None:
    """Keep the directory in use and the one before it (a process started earlier may still read it)."""
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and p.name != CURRENT)
    keep = set(keep)
    finished = [p for p in dirs if not p.name.endswith(STAGING_SUFFIX)]
    if len(finished) >= 2:
        keep.add(finished[-2].name)
    for path in dirs:
        if path.name not in keep and not path.name.endswith(STAGING_SUFFIX):
            shutil.rmtree(path, ignore_errors=True)


__all__ = ["ConversionError", "ReferenceDataError", "RefreshRefused", "RefreshResult", "counts", "parse_urls",
           "refresh", "validate"]
