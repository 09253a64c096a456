"""CVs kept for an hour while an application form with other errors is corrected, so none is sent twice."""
from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from app.extensions import get_settings
from app.web.forms import UploadedCv

MAX_AGE_S = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,60}$")


def _folder() -> Path:
    folder = Path(get_settings().upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _purge(folder: Path) -> None:
    limit = time.time() - MAX_AGE_S
    for path in folder.glob("*.cv"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                path.with_suffix(".json").unlink(missing_ok=True)
        except OSError:
            pass  # another worker removed it first


def keep(cv: UploadedCv | None) -> str | None:
    """Store `cv` under a new random token (the form sends it back in a hidden field)."""
    if cv is None:
        return None
    folder = _folder()
    _purge(folder)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.cv").write_bytes(cv.content)
    (folder / f"{token}.json").write_text(json.dumps({"filename": cv.filename}))
    return token


def load(token: str) -> UploadedCv | None:
    """The CV kept under `token`, or None when unknown or older than an hour."""
    if not token or not _TOKEN.match(token):
        return None
    folder = _folder()
    content, meta = folder / f"{token}.cv", folder / f"{token}.json"
    try:
        if content.stat().st_mtime < time.time() - MAX_AGE_S:
            return None
        return UploadedCv(json.loads(meta.read_text())["filename"], content.read_bytes())
    except (OSError, ValueError, KeyError):
        return None


def discard(token: str) -> None:
    """Delete a kept CV once its application is sent (the CV is never kept after sending)."""
    if token and _TOKEN.match(token):
        folder = _folder()
        (folder / f"{token}.cv").unlink(missing_ok=True)
        (folder / f"{token}.json").unlink(missing_ok=True)
