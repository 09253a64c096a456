"""The codes of the hiring files and their parsers: contract kinds, INSEE headcount bands, month ordinals, flags."""
from __future__ import annotations

import numpy as np

CONTRACTS = ("apprenticeship", "fixed_term", "permanent")
APPRENTICESHIP, FIXED_TERM, PERMANENT = range(3)

#: INSEE headcount band code → (label of the predicted-recruiters file, lower bound, midpoint).
#: `NN` (no employee on record) and `00` share the "0" label; the midpoint is what models use as size.
HEADCOUNT_BANDS: dict[str, tuple[str, int, float]] = {
    "NN": ("0", 0, 0.5), "00": ("0", 0, 0.5), "01": ("1-2", 1, 1.5), "02": ("3-5", 3, 4.0),
    "03": ("6-9", 6, 7.5), "11": ("10-19", 10, 14.5), "12": ("20-49", 20, 34.5), "21": ("50-99", 50, 74.5),
    "22": ("100-199", 100, 149.5), "31": ("200-249", 200, 224.5), "32": ("250-499", 250, 374.5),
    "41": ("500-999", 500, 749.5), "42": ("1000-1999", 1000, 1499.5), "51": ("2000-4999", 2000, 3499.5),
    "52": ("5000-9999", 5000, 7499.5), "53": ("10000+", 10000, 12000.0),
}
_BAND_OF_LABEL = {label: code for code, (label, _, _) in HEADCOUNT_BANDS.items() if code != "NN"}

#: Month ordinals standing for "always existed" and "never closed".
NEVER = np.iinfo(np.int32).max
ALWAYS = np.iinfo(np.int32).min

_TRUE = {"1", "true", "yes", "oui", "o", "y"}
_FALSE = {"", "0", "false", "no", "non", "n"}


class RowError(ValueError):
    """A row that cannot be used; the message is the rejection reason counted in the stats."""


def month_ordinal(text: str) -> int:
    """`YYYY-MM` (or a `YYYY-MM-DD` date) as year × 12 + month − 1, so consecutive months differ by 1."""
    raw = text.strip()
    if len(raw) not in (7, 10) or raw[4] != "-" or not raw[:4].isdigit() or not raw[5:7].isdigit():
        raise RowError("bad month")
    year, month = int(raw[:4]), int(raw[5:7])
    if not 1 <= month <= 12 or year < 1900:
        raise RowError("bad month")
    return year * 12 + month - 1


def month_label(ordinal: int) -> str:
    """`YYYY-MM` of a month ordinal."""
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def band_code(text: str) -> str:
    """The INSEE band code of a code or a label; empty means unknown (`NN`)."""
    raw = text.strip().upper()
    if not raw:
        return "NN"
    if raw in HEADCOUNT_BANDS:
        return raw
    if raw.zfill(2) in HEADCOUNT_BANDS:  # spreadsheets drop the leading zero of "01"
        return raw.zfill(2)
    if raw in _BAND_OF_LABEL:
        return _BAND_OF_LABEL[raw]
    raise RowError("bad headcount band")


def flag(text: str) -> bool:
    """A yes/no cell."""
    raw = text.strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise RowError("bad opt_out flag")
