"""The synthetic hiring history: seeded, readable without rejection, and shaped like the real thing."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.referentials import Referentials
from indexers.hiring.codes import APPRENTICESHIP
from indexers.hiring.history import History
from scripts import demo_hiring
from tests.indexers.hiring.conftest import END_MONTH


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path, refs: Referentials) -> None:
    runs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        demo_hiring.generate(refs, tmp_path / name, "small", seed=seed, end_month=END_MONTH, companies=400)
        runs.append({f: (tmp_path / name / f).read_bytes() for f in (demo_hiring.COMPANIES_FILE,
                                                                      demo_hiring.HIRINGS_FILE)})
    assert runs[0] == runs[1]
    assert runs[0][demo_hiring.HIRINGS_FILE] != runs[2][demo_hiring.HIRINGS_FILE]
    manifest = json.loads((tmp_path / "a" / demo_hiring.MANIFEST_FILE).read_text())
    assert (manifest["first_month"], manifest["last_month"], manifest["months"]) == ("2022-11", END_MONTH, 48)


def test_apprenticeships_peak_in_september(small_history: History) -> None:
    app = small_history.counts[:, :, APPRENTICESHIP].sum(axis=0)
    calendar = np.array([(small_history.first_month + t) % 12 for t in range(small_history.n_months)])
    by_month = np.array([app[calendar == m].sum() for m in range(12)])
    assert by_month.argmax() == 8
    assert 0.2 < by_month[8] / by_month.sum() < 0.4


def test_most_companies_never_hire_an_apprentice_and_hirers_persist(small_history: History) -> None:
    app = small_history.counts[:, :, APPRENTICESHIP]
    assert 0.1 < (app.sum(axis=1) > 0).mean() < 0.5
    year3, year4 = app[:, 24:36].sum(axis=1) > 0, app[:, 36:48].sum(axis=1) > 0
    # Having hired last year makes hiring this year far likelier, without making it certain.
    assert year4[year3].mean() > 4 * year4[~year3].mean()
    assert 0.3 < year4[year3].mean() < 0.95


def test_bigger_companies_and_craft_sectors_hire_more(small_history: History) -> None:
    companies = small_history.companies
    yearly = small_history.counts[:, 36:48, APPRENTICESHIP].sum(axis=1)
    small, big = companies.headcount < 10, companies.headcount >= 50
    assert yearly[big].mean() > 3 * yearly[small].mean()
    divisions = np.array([naf[:2] for naf in companies.naf.tolist()])
    crafts, temp_agencies = np.isin(divisions, ["10", "43", "96"]), np.isin(divisions, ["78", "84", "94"])
    assert yearly[crafts].mean() > 2 * yearly[temp_agencies].mean()


def test_closures_creations_and_opt_outs_are_in_the_company_file(small_history: History) -> None:
    companies, counts = small_history.companies, small_history.counts
    closed = np.array([bool(day) for day in companies.closed_on])
    assert 0.05 < closed.mean() < 0.3 and companies.opt_out.any()
    # Nothing is hired after a closure or before a creation.
    for row in np.flatnonzero(closed)[:200]:
        assert counts[row, companies.closed[row] - small_history.first_month + 1:].sum() == 0
    young = np.flatnonzero(companies.created > small_history.first_month)
    assert young.size > 0
    for row in young[:200]:
        assert counts[row, :companies.created[row] - small_history.first_month].sum() == 0


def test_unknown_scale_is_refused(tmp_path: Path, refs: Referentials) -> None:
    with pytest.raises(ValueError):
        demo_hiring.generate(refs, tmp_path, "galactic")
