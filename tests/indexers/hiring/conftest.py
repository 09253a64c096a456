"""Hiring-prediction fixtures: hand-made company rows and one small generated history shared by the tests."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.referentials import Referentials
from indexers.hiring.history import History
from indexers.hiring.input_files import COMPANY_COLUMNS, HIRING_COLUMNS, load_history, write_csv
from scripts import demo_hiring
from scripts.demo_data.identifiers import luhn_digit

END_MONTH = "2026-10"


def siret(number: int) -> str:
    """A valid SIRET (Luhn on the SIREN and on all 14 digits) made from a small number."""
    body = f"{10_000_000 + number:08d}"
    siren = body + luhn_digit(body)
    nic = "0001"
    return siren + nic + luhn_digit(siren + nic)


def company(number: int, **fields: Any) -> dict[str, str]:
    """A company row (a bakery in Lyon 3e with 3–5 employees) with `fields` changed."""
    row = {"siret": siret(number), "name": f"BOULANGERIE {number}", "trade_name": "", "naf": "1071C",
           "headcount_band": "02", "insee_code": "69383", "postcode": "69003", "street_number": "12",
           "street_name": "RUE DE LA REPUBLIQUE", "latitude": "45.7597", "longitude": "4.8422", "email": "",
           "phone": "", "website": "", "created_on": "2001-05-04", "closed_on": "", "opt_out": "0"}
    row.update({key: str(value) for key, value in fields.items()})
    return row


def write_files(directory: Path, companies: list[dict[str, str]], hirings: list[tuple[Any, ...]]) -> tuple[Path, Path]:
    """companies.csv and hirings.csv in `directory`."""
    companies_path, hirings_path = directory / "companies.csv", directory / "hirings.csv"
    write_csv(companies_path, COMPANY_COLUMNS, ([row[name] for name in COMPANY_COLUMNS] for row in companies))
    write_csv(hirings_path, HIRING_COLUMNS, hirings)
    return companies_path, hirings_path


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory, refs: Referentials) -> Path:
    """The small generated history (5,000 companies, 48 months to October 2026)."""
    out = tmp_path_factory.mktemp("hiring-small")
    demo_hiring.generate(refs, out, "small", seed=42, end_month=END_MONTH)
    return out


@pytest.fixture(scope="session")
def small_history(small_dir: Path, refs: Referentials) -> History:
    history, company_stats, hiring_stats = load_history(small_dir / demo_hiring.COMPANIES_FILE,
                                                        small_dir / demo_hiring.HIRINGS_FILE, refs)
    assert company_stats.rejected_total == 0 and hiring_stats.rejected_total == 0
    return history
