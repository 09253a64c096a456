"""The hiring history in memory: companies as columns, their monthly hires by contract kind, as models read them."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from indexers.hiring.codes import HEADCOUNT_BANDS, month_label

#: A company-month cell holds at most this many hires of one kind (uint16 storage).
MAX_CELL = np.iinfo(np.uint16).max


@dataclass
class Companies:
    """The company file as columns: numeric arrays for the models, text lists for the output file."""

    siret: list[str]
    naf: np.ndarray  # compact NAF codes, '<U5'
    band: np.ndarray  # INSEE band codes, '<U2'
    department: np.ndarray  # department codes, '<U3'
    insee: list[str]
    postcode: list[str]
    city: list[str]
    latitude: np.ndarray  # WGS84, NaN when the row had no coordinates
    longitude: np.ndarray
    created: np.ndarray  # month ordinal of creation, ALWAYS when unknown
    closed: np.ndarray  # month ordinal of closure, NEVER when open
    closed_on: list[str]
    opt_out: np.ndarray  # bool
    name: list[str]
    trade_name: list[str]
    street_number: list[str]
    street_name: list[str]
    email: list[str]
    phone: list[str]
    website: list[str]
    index: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.siret)

    @cached_property
    def headcount(self) -> np.ndarray:
        """Midpoint of each company's headcount band."""
        mids = {code: mid for code, (_, _, mid) in HEADCOUNT_BANDS.items()}
        return np.array([mids[b] for b in self.band.tolist()], dtype=np.float32)

    @cached_property
    def headcount_floor(self) -> np.ndarray:
        """Lower bound of each company's headcount band (La Bonne Boite's `effectif` feature)."""
        floors = {code: low for code, (_, low, _) in HEADCOUNT_BANDS.items()}
        return np.array([floors[b] for b in self.band.tolist()], dtype=np.float32)


@dataclass
class History:
    """Monthly hires per company and contract kind, `counts[company, month, kind]`, months contiguous."""

    companies: Companies
    first_month: int  # ordinal of counts[:, 0]
    counts: np.ndarray  # uint16 [companies, months, len(CONTRACTS)]

    @property
    def n_months(self) -> int:
        """Number of months covered."""
        return int(self.counts.shape[1])

    @property
    def last_month(self) -> int:
        """Ordinal of the last month covered."""
        return self.first_month + self.n_months - 1

    def label(self, month_index: int) -> str:
        """`YYYY-MM` of a month index (0 = first month)."""
        return month_label(self.first_month + month_index)

    def truncated(self, months: int) -> History:
        """The first `months` months only (a view): what was known when month index `months` began.

        Models are fitted and scored on a truncated history in backtests, so they cannot see the
        months they predict.
        """
        if not 0 < months <= self.n_months:
            raise ValueError(f"cannot keep {months} of {self.n_months} months")
        return History(self.companies, self.first_month, self.counts[:, :months])

    def active_at(self, cutoff: int) -> np.ndarray:
        """Companies existing and not closed when the months from index `cutoff` on are predicted."""
        start = self.first_month + cutoff
        companies = self.companies
        return (companies.created < start) & (companies.closed >= start)
