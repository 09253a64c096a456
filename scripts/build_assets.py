"""Copy the front-end files the site uses from node_modules into app/web/static/vendor (run after `npm ci`).

Only DSFR's core, the components the templates use and a few icon families are bundled, so the
CSS + JS sent to a browser stays far under the 300 KB (compressed) budget; the files each bundle
references (fonts, icons) are copied beside it. Idempotent: nothing is rewritten when the
package-lock and this script are unchanged.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
OUT = ROOT / "app" / "web" / "static" / "vendor"
DSFR = NODE_MODULES / "@gouvfr" / "dsfr" / "dist"
LEAFLET = NODE_MODULES / "leaflet" / "dist"

#: DSFR components the templates use, in DSFR's own dependency order (core first).
COMPONENTS = ("link", "button", "badge", "tag", "alert", "callout", "notice", "breadcrumb", "pagination",
              "form", "input", "select", "checkbox", "radio", "upload", "segmented", "card", "skiplink", "logo",
              "header", "footer", "summary", "table")
ICON_FAMILIES = ("system", "arrows", "map", "business", "device", "user", "document")
STAMP = OUT / ".stamp"


def _stamp() -> str:
    lock = ROOT / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes() if lock.is_file() else b"")
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


_URL = re.compile(r"url\((['\"]?)([^)'\"]+)\1\)")


def _bundle_css(sources: list[Path], base: Path, out_dir: Path, prefix: str) -> str:
    """Concatenate `sources`, copying every relative url() target under `out_dir/prefix` and rewriting it."""
    parts = []
    for source in sources:
        text = source.read_text(encoding="utf-8")

        def rewrite(match: re.Match[str], source: Path = source) -> str:
            target = match.group(2)
            if target.startswith(("data:", "http:", "https:", "#", "/")):
                return match.group(0)
            path = (source.parent / target.split("?")[0].split("#")[0]).resolve()
            relative = path.relative_to(base.resolve())
            copy = out_dir / prefix / relative
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            return f"url({prefix}/{relative.as_posix()})"

        # @charset is only valid at the very start of a file; the bundle is UTF-8 throughout.
        text = re.sub(r"@charset \"[^\"]*\";", "", _URL.sub(rewrite, text))
        parts.append(f"/* {source.relative_to(NODE_MODULES)} */\n{text}")
    return "\n".join(parts)


def build(force: bool = False) -> bool:
    """Write the vendor folder; return False when it was already up to date."""
    if not DSFR.is_dir() or not LEAFLET.is_dir():
        sys.exit("node_modules is missing DSFR or Leaflet: run `npm ci --ignore-scripts` first")
    stamp = _stamp()
    if not force and STAMP.is_file() and STAMP.read_text() == stamp:
        return False
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    css = [DSFR / "core" / "core.min.css"]
    css += [DSFR / "component" / name / f"{name}.min.css" for name in COMPONENTS]
    css += [DSFR / "utility" / "icons" / f"icons-{family}" / f"icons-{family}.min.css" for family in ICON_FAMILIES]
    (OUT / "dsfr.css").write_text(_bundle_css(css, DSFR, OUT, "dsfr"), encoding="utf-8")
    # DSFR's core script (theme, focus management); no component used here needs its own script.
    shutil.copyfile(DSFR / "core" / "core.module.min.js", OUT / "dsfr.module.js")
    shutil.copyfile(DSFR / "favicon" / "favicon.svg", OUT / "favicon.svg")
    (OUT / "leaflet.css").write_text(_bundle_css([LEAFLET / "leaflet.css"], LEAFLET, OUT, "leaflet"),
                                     encoding="utf-8")
    shutil.copyfile(LEAFLET / "leaflet.js", OUT / "leaflet.js")
    versions = {name: json.loads((NODE_MODULES / name / "package.json").read_text())["version"]
                for name in ("@gouvfr/dsfr", "leaflet")}
    (OUT / "versions.json").write_text(json.dumps(versions, indent=1))
    STAMP.write_text(stamp)
    return True


if __name__ == "__main__":
    changed = build(force="--force" in sys.argv)
    print(f"vendor assets {'written to' if changed else 'already up to date in'} {OUT.relative_to(ROOT)}")
