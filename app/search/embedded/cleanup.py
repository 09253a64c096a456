"""Clean-up of a kind's folder: generations no reader needs any more and half-built files of dead builders."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from app.search.embedded.generations import Generation
from app.search.embedded.rows import columns_dir


def drop_old_generations(root: Path, kind: str) -> None:
    """Keep the published generation and the one before (readers may still hold it); delete the rest."""
    folder = root / kind
    current, _ = Generation(root, kind).current()
    files = sorted(folder.glob("*.sqlite"))
    keep = {current.name if current else ""}
    older = [f for f in files if current is None or f.name < current.name]
    if older:
        keep.add(older[-1].name)
    for path in files:
        if path.name not in keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    # Columns whose database is gone (dropped above, or a build that died before renaming it).
    for columns in folder.glob("*.cols"):
        stem = columns.name[:-len(".cols")]
        if not (folder / f"{stem}.sqlite").exists() and not (folder / f"{stem}.building").exists():
            shutil.rmtree(columns, ignore_errors=True)


def drop_dead_builds(root: Path, kind: str) -> None:
    """Delete half-built files whose builder process no longer exists (a crash mid-build)."""
    folder = root / kind
    if not folder.is_dir():
        return
    for path in folder.glob("*.building"):
        pid = int(path.stem.rsplit("-", 1)[-1]) if path.stem.rsplit("-", 1)[-1].isdigit() else 0
        if pid and pid != os.getpid() and _alive(pid):
            continue
        if pid == os.getpid() and time.time() - path.stat().st_mtime < 24 * 3600:
            continue  # another builder of this same process may be running
        remove_build_files(path)
        shutil.rmtree(columns_dir(path).with_name(columns_dir(path).name + ".tmp"), ignore_errors=True)


def remove_build_files(path: Path) -> None:
    """Delete a half-built SQLite file (with its journals) and its posting columns."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(columns_dir(path), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
