"""Generation pointers: each kind's CURRENT file names its published SQLite file, swapped atomically."""
from __future__ import annotations

import os
from pathlib import Path


class Generation:
    """Paths of the published generation of one kind, read from its CURRENT pointer file."""

    _names: dict[Path, tuple[int, int, str]] = {}  # pointer → (inode, mtime_ns, name): read once per swap

    def __init__(self, root: Path, kind: str) -> None:
        self.dir = root / kind
        self.pointer = self.dir / "CURRENT"

    def current(self) -> tuple[Path | None, int]:
        """(published file, pointer inode): the inode changes on every atomic swap."""
        try:
            stat = os.stat(self.pointer)
            cached = self._names.get(self.pointer)
            if cached and cached[:2] == (stat.st_ino, stat.st_mtime_ns):
                name = cached[2]
            else:
                name = self.pointer.read_text().strip()
                self._names[self.pointer] = (stat.st_ino, stat.st_mtime_ns, name)
        except FileNotFoundError:
            return None, 0
        return self.dir / name, stat.st_ino

    def swap(self, final: Path, generation: str) -> None:
        """Point CURRENT at `final`: a temporary pointer file, then os.replace (atomic for readers)."""
        tmp = self.dir / f"CURRENT.{generation}"
        tmp.write_text(final.name + "\n")
        os.replace(tmp, self.pointer)
