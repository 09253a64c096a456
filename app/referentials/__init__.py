"""Reference data (ROME, communes, NAF, diplomas, OPCO) loaded once from LBA_DATA_DIR."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from app.referentials.communes import Commune, Communes, load_communes
from app.referentials.csvfile import ReferenceDataError
from app.referentials.diplomas import Diplomas, load_diplomas
from app.referentials.naf import Naf, load_naf
from app.referentials.opco import Opcos, load_opcos
from app.referentials.rome import Rome, RomeCode, load_rome

__all__ = [
    "Commune", "Communes", "Diplomas", "Naf", "Opcos", "ReferenceDataError", "Referentials",
    "Rome", "RomeCode", "get_referentials", "load_referentials",
]


@dataclass(frozen=True)
class Referentials:
    """All reference tables, read-only once loaded."""

    data_dir: Path
    rome: Rome
    communes: Communes
    naf: Naf
    diplomas: Diplomas
    opcos: Opcos


def load_referentials(data_dir: str | Path) -> Referentials:
    """Read every reference file of `data_dir`; a missing or malformed file raises ReferenceDataError."""
    root = Path(data_dir)
    rome = load_rome(root)
    return Referentials(
        data_dir=root,
        rome=rome,
        communes=load_communes(root),
        naf=load_naf(root, rome),
        diplomas=load_diplomas(root),
        opcos=load_opcos(root),
    )


_cache: dict[str, Referentials] = {}
_lock = threading.Lock()


def get_referentials(data_dir: str | Path) -> Referentials:
    """Return the referentials of `data_dir`, loading them on first use (they take ~1 s to read)."""
    key = str(Path(data_dir).resolve())
    with _lock:
        if key not in _cache:
            _cache[key] = load_referentials(key)
        return _cache[key]
