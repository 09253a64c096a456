"""`lba recruiters grant-admin / revoke-admin / pending` on both databases: the validator role comes from the CLI."""
from __future__ import annotations

import json

import sqlalchemy as sa
from click.testing import CliRunner

from app.store import get_store, recruiter_accounts
from scripts.cli import main as lba
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures: every test runs on both databases


def _row(url: str, email: str) -> dict:
    with get_store(url).connect() as conn:
        return dict(conn.execute(sa.select(recruiter_accounts).where(recruiter_accounts.c.email == email))
                    .mappings().one())


def test_grant_admin_and_opco_validators(store_url: str, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", store_url)
    runner = CliRunner()
    done = runner.invoke(lba, ["recruiters", "grant-admin", "Admin@LBA.test"])
    assert done.exit_code == 0, done.output
    admin = _row(store_url, "admin@lba.test")
    assert admin["is_admin"] and admin["kind"] == "admin" and admin["status"] == "validated"
    unknown = runner.invoke(lba, ["recruiters", "grant-admin", "v@opco.fr", "--opco", "OPCO Imaginaire"])
    assert unknown.exit_code != 0 and "OPCO inconnu" in unknown.output
    opco = runner.invoke(lba, ["recruiters", "grant-admin", "v@opco-ep.fr", "--opco", "opco ep"])
    assert opco.exit_code == 0, opco.output
    validator = _row(store_url, "v@opco-ep.fr")
    assert validator["kind"] == "opco" and validator["opco"] == "Opco EP" and validator["is_admin"]
    listed = runner.invoke(lba, ["recruiters", "pending"])
    assert listed.exit_code == 0 and listed.output.strip() == ""
    with get_store(store_url).begin() as conn:
        conn.execute(sa.insert(recruiter_accounts).values(
            kind="entreprise", email="paul@example.fr", siret="41234567000019", company_name="BOULANGERIE DURAND",
            opco="Opco EP", status="pending", is_admin=False, session_version=1,
            created_at=admin["created_at"], updated_at=admin["created_at"]))
    [line] = runner.invoke(lba, ["recruiters", "pending"]).output.strip().splitlines()
    assert json.loads(line)["email"] == "paul@example.fr"
    assert runner.invoke(lba, ["recruiters", "revoke-admin", "admin@lba.test"]).exit_code == 0
    assert not _row(store_url, "admin@lba.test")["is_admin"]
    assert runner.invoke(lba, ["recruiters", "revoke-admin", "admin@lba.test"]).exit_code != 0
