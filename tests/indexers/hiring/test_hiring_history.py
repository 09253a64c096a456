"""Company and hiring files: parsing, locating, rejections by reason, dense monthly counts, truncation."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.referentials import Referentials
from indexers import ImportStats
from indexers.hiring.codes import APPRENTICESHIP, FIXED_TERM, NEVER, PERMANENT, band_code, month_label, month_ordinal
from indexers.hiring.input_files import load_history, read_companies
from tests.indexers.hiring.conftest import company, siret, write_files


def test_months_are_consecutive_integers() -> None:
    assert month_ordinal("2025-12") + 1 == month_ordinal("2026-01")
    assert month_ordinal("2026-03-17") == month_ordinal("2026-03")
    assert month_label(month_ordinal("2024-09")) == "2024-09"
    for bad in ("2026-13", "26-01", "2026/01", ""):
        with pytest.raises(ValueError):
            month_ordinal(bad)


def test_headcount_bands_accept_codes_labels_and_spreadsheet_mangling() -> None:
    assert band_code("11") == band_code("10-19") == "11"
    assert band_code("1") == "01"  # leading zero dropped by a spreadsheet
    assert band_code("") == "NN"
    with pytest.raises(ValueError):
        band_code("12-18")


def test_companies_are_located_and_bad_rows_rejected_by_reason(tmp_path: Path, refs: Referentials) -> None:
    rows = [
        company(1),
        company(2, insee_code="", postcode="", latitude="43.2965", longitude="5.3698"),  # coordinates only
        company(3, insee_code="", latitude="", longitude="", postcode="33000"),  # postal code only
        company(4, siret="12345678901234"),
        company(5, naf="9999Z"),
        company(6, headcount_band="huge"),
        company(7, insee_code="", postcode="", latitude="", longitude=""),
        company(1, name="DUPLICATE"),
        company(8, closed_on="2026-02-14", opt_out="1", naf="10.71C"),
        company(9, created_on="someday"),
    ]
    companies_path, _ = write_files(tmp_path, rows, [])
    stats = ImportStats("companies")
    companies = read_companies(companies_path, refs, stats)
    assert companies.siret == [siret(1), siret(2), siret(3), siret(8)]
    assert dict(stats.rejected) == {"invalid siret": 1, "unknown naf": 1, "bad headcount band": 1, "no location": 1,
                                    "duplicate siret": 1, "bad date": 1}
    assert list(companies.department) == ["69", "13", "33", "69"]
    assert companies.insee[1].startswith("132")  # a Marseille arrondissement, as SIRENE codes it
    assert companies.naf[3] == "1071C"
    assert companies.closed[0] == NEVER and companies.closed[3] == month_ordinal("2026-02")
    assert companies.opt_out.tolist() == [False, False, False, True]
    assert companies.headcount_floor[0] == 3 and companies.headcount[0] == 4.0


def test_hirings_become_dense_monthly_counts(tmp_path: Path, refs: Referentials) -> None:
    hirings = [
        (siret(1), "2025-01", "apprenticeship", 1),
        (siret(1), "2025-01", "apprenticeship", 2),  # same key again: summed
        (siret(1), "2025-03", "fixed_term", 4),
        (siret(2), "2025-02-10", "permanent", 1),
        (siret(3), "2025-02", "apprenticeship", 1),  # unknown company
        (siret(1), "2025-02", "internship", 1),
        (siret(1), "2025-02", "apprenticeship", -1),
        (siret(1), "2025-14", "apprenticeship", 1),
    ]
    companies_path, hirings_path = write_files(tmp_path, [company(1), company(2)], hirings)
    history, _, stats = load_history(companies_path, hirings_path, refs)
    assert dict(stats.rejected) == {"unknown siret": 1, "bad contract": 1, "bad hires": 1, "bad month": 1}
    assert history.label(0) == "2025-01" and history.n_months == 3
    expected = np.zeros((2, 3, 3), dtype=int)
    expected[0, 0, APPRENTICESHIP] = 3
    expected[0, 2, FIXED_TERM] = 4
    expected[1, 1, PERMANENT] = 1
    assert history.counts.tolist() == expected.tolist()


def test_explicit_month_range_pads_and_drops(tmp_path: Path, refs: Referentials) -> None:
    companies_path, hirings_path = write_files(tmp_path, [company(1)], [
        (siret(1), "2024-12", "apprenticeship", 1), (siret(1), "2025-02", "apprenticeship", 1)])
    history, _, stats = load_history(companies_path, hirings_path, refs, first_month="2025-01",
                                     last_month="2025-06")
    assert history.n_months == 6 and history.counts[0, :, APPRENTICESHIP].tolist() == [0, 1, 0, 0, 0, 0]
    assert stats.rejected["month out of range"] == 1


def test_truncation_hides_later_months_and_activity_follows_dates(tmp_path: Path, refs: Referentials) -> None:
    companies_path, hirings_path = write_files(
        tmp_path, [company(1, closed_on="2025-03-20"), company(2, created_on="2025-04-02")],
        [(siret(1), month, "fixed_term", 1) for month in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05")])
    history, _, _ = load_history(companies_path, hirings_path, refs)
    known = history.truncated(3)
    assert known.n_months == 3 and known.counts[0, :, FIXED_TERM].sum() == 3
    # Predicting from March: company 1 still open (it closes during March), company 2 not yet created.
    assert history.active_at(2).tolist() == [True, False]
    assert history.active_at(3).tolist() == [False, False]
    assert history.active_at(4).tolist() == [False, True]
    with pytest.raises(ValueError):
        history.truncated(0)
