"""The CSS and JS files each page type sends, with content hashes for cache busting and size budgets."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
#: What every page loads, then what only the pages with a map add (paths under static/).
BASE_CSS = ("vendor/dsfr.css", "css/site.css")
BASE_JS = ("vendor/dsfr.module.js", "js/site.js")
MAP_CSS = ("vendor/leaflet.css",)
MAP_JS = ("vendor/leaflet.js", "js/map.js")


@dataclass(frozen=True)
class Assets:
    """Hashes of the static files, read once at start-up; a missing vendor file is logged, not fatal."""

    versions: dict[str, str] = field(default_factory=dict)
    #: URLs built on first use (the same for every request of the app).
    urls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path = STATIC) -> "Assets":
        """Hash every bundled file; the API still serves when `make` has not built the vendor folder."""
        versions = {}
        for name in (*BASE_CSS, *BASE_JS, *MAP_CSS, *MAP_JS):
            path = root / name
            if path.is_file():
                versions[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            else:
                log.warning("static file %s is missing: run `make install` (npm ci + scripts/build_assets.py)", path)
        return cls(versions)

    def version(self, name: str) -> str:
        """The content hash of `name` (empty when the file is missing)."""
        return self.versions.get(name, "")


def page_files(with_map: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The CSS and JS files a page sends: the base set, plus Leaflet's on pages with a map."""
    if with_map:
        return BASE_CSS + MAP_CSS, BASE_JS + MAP_JS
    return BASE_CSS, BASE_JS
