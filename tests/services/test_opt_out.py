"""Company opt-out: matching rule, e-mailed confirmation link, removal from both engines, survival across rebuilds."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.search.contract import MatchQuery
from app.services import opt_out
from app.services.contact_links import LinkError, LinkExpired, LinkSigner
from app.store import company_opt_outs, get_store
from app.store.contact import company_opt_out_requests
from indexers.job_settings import JobSettings
from indexers.jobs import opted_out_sirets
from indexers.pipeline import run_job
from scripts.smtp_sink import SmtpSink
from tests.search import conftest as engine_fixtures
from tests.services.contact_env import BASE_URL, SECRET, company_doc, deliver_all, paris
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures: every test runs on both databases

# Every test taking `engine` runs on the embedded engine and on the real OpenSearch node.
engine = engine_fixtures.engine
opensearch_url = engine_fixtures.opensearch_url

SIGNER = LinkSigner(SECRET)
NOW = paris("2026-03-06 10:00")


def _siret(prefix: str) -> str:
    """A 14-digit SIRET starting with `prefix`, with a valid Luhn key."""
    body = prefix.ljust(13, "0")
    for last in "0123456789":
        candidate = body + last
        total = 0
        for position, char in enumerate(reversed(candidate)):
            digit = int(char) * (2 if position % 2 else 1)
            total += digit - 9 if digit > 9 else digit
        if total % 10 == 0:
            return candidate
    raise AssertionError


MARTIN, MARTIN_2, GMAIL, NO_EMAIL, OTHER = (_siret(p) for p in ("1234567", "1234568", "2345678", "3456789",
                                                                  "4567890"))


@pytest.fixture()
def store(store_url):  # noqa: F811
    return get_store(store_url)


@pytest.fixture()
def sink():
    with SmtpSink() as running:
        yield running


def _recruiters_file(path: Path) -> Path:
    """The predicted recruiters file (the algorithm's real format) holding the test companies."""
    def row(siret: str, name: str, email: str | None) -> dict:
        return {"siret": siret, "enseigne": name, "naf_code": "1071C", "naf_label": "Boulangerie",
                "raison_sociale": name, "street_number": "3", "street_name": "PLACE BELLECOUR",
                "insee_city_code": "69382", "zip_code": "69002", "email": email, "phone": None,
                "company_size": "3-5", "coordonneeLambertAbscisseEtablissement": None,
                "coordonneeLambertOrdonneeEtablissement": None, "libelleCommuneEtablissement": "LYON 2E",
                "rome_codes": [{"rome_code": "D1102", "normalized_score": 0.01}]}
    rows = [row(MARTIN, "BOULANGERIE MARTIN", "rh@boulangerie-martin.example.fr"),
            row(MARTIN_2, "BOULANGERIE MARTIN GERLAND", "contact@boulangerie-martin.example.fr"),
            row(GMAIL, "FOURNIL DE PAUL", "fournil.paul@gmail.com"),
            row(NO_EMAIL, "PAINS ET CO", None), row(OTHER, "AUTRE BOULANGERIE", "contact@autre.example.fr")]
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _rebuild(engine, store_url: str, tmp_path: Path, refs, base: Settings):  # noqa: F811
    settings = replace(base, index_dir=str(tmp_path / "index"), database_url=store_url)
    job_settings = JobSettings(recruiters_source=str(_recruiters_file(tmp_path / "recruteurs.json")), min_ratio=0.0)
    result = run_job("recruiters", settings=settings, job_settings=job_settings, store=get_store(store_url),
                     engine=engine, refs=refs)
    assert result.outcome == "success", result.error
    return result


def _found(engine) -> set[str]:
    hits = engine.search(MatchQuery(romes=("D1102",), latitude=45.758, longitude=4.835, radius_km=10,
                                    kinds=("company",), page_size=None)).hits
    return {hit.id for hit in hits}


def _link(text: str) -> tuple[str, str]:
    url = next(word for word in text.split() if word.startswith(f"{BASE_URL}/entreprises/desinscription/"))
    path, token = url.split("?token=")
    return path.rsplit("/", 1)[1], token


def test_the_matching_rule_same_address_or_same_company_domain_but_never_a_public_mailbox() -> None:
    assert opt_out.email_matches("RH@Boulangerie-Martin.example.fr", "rh@boulangerie-martin.example.fr")
    assert opt_out.email_matches("direction@boulangerie-martin.example.fr", "rh@boulangerie-martin.example.fr")
    assert not opt_out.email_matches("autre@gmail.com", "fournil.paul@gmail.com")
    assert opt_out.email_matches("fournil.paul@gmail.com", "fournil.paul@gmail.com")
    assert not opt_out.email_matches("rh@boulangerie-martin.example.fr", "")
    assert not opt_out.email_matches("rh@autre.example.fr", "rh@boulangerie-martin.example.fr")


def test_opt_out_confirmed_by_the_emailed_link_leaves_search_at_once_and_stays_out_after_a_rebuild(
        engine, store_url, tmp_path, refs, settings, sink) -> None:  # noqa: F811
    first = _rebuild(engine, store_url, tmp_path, refs, settings)
    assert _found(engine) == {MARTIN, MARTIN_2, GMAIL, NO_EMAIL, OTHER}
    store = get_store(store_url)
    matched = opt_out.match_companies(store, engine, "direction@boulangerie-martin.example.fr",
                                      [MARTIN, MARTIN_2, GMAIL, NO_EMAIL, OTHER, _siret("9999999")])
    assert [(c.siret, c.status) for c in matched] == [
        (MARTIN, "eligible"), (MARTIN_2, "eligible"), (GMAIL, "email_mismatch"), (NO_EMAIL, "no_contact"),
        (OTHER, "email_mismatch"), (_siret("9999999"), "not_listed")]
    assert matched[0].as_dict()["name"] == "BOULANGERIE MARTIN"
    # The answer never carries the companies' known addresses.
    assert "@" not in json.dumps([c.as_dict() for c in matched])

    created = opt_out.request_opt_out(store, engine, SIGNER, "direction@boulangerie-martin.example.fr",
                                      [MARTIN, MARTIN_2, GMAIL], "Nous ne recrutons pas d'apprentis.", NOW, BASE_URL)
    assert _found(engine) == {MARTIN, MARTIN_2, GMAIL, NO_EMAIL, OTHER}  # nothing removed before the link
    [mail] = deliver_all(store, sink)
    assert mail.rcpt_tos == ["direction@boulangerie-martin.example.fr"]
    assert mail.message["Subject"] == "Confirmez le retrait de votre entreprise de La bonne alternance"
    assert f"BOULANGERIE MARTIN (SIRET {MARTIN})" in mail.body("plain") and GMAIL not in mail.body("plain")
    request_id, token = _link(mail.body("plain"))
    assert request_id == created["id"]
    assert opt_out.pending_request(store, SIGNER, request_id, token, NOW)["sirets"] == [MARTIN, MARTIN_2]

    confirmed = opt_out.confirm_opt_out(store, engine, SIGNER, request_id, token, NOW + timedelta(hours=1))
    assert confirmed["sirets"] == [MARTIN, MARTIN_2] and confirmed["removed_from_search"] == 2
    assert _found(engine) == {GMAIL, NO_EMAIL, OTHER}
    assert engine.get_many("company", [MARTIN, MARTIN_2]) == {}
    assert opted_out_sirets(store) == {MARTIN, MARTIN_2}
    [done] = deliver_all(store, sink)
    assert done.message["Subject"] == "Votre entreprise n'apparaît plus sur La bonne alternance"

    # The link works once.
    with pytest.raises(opt_out.AlreadyConfirmed):
        opt_out.confirm_opt_out(store, engine, SIGNER, request_id, token, NOW + timedelta(hours=2))

    # The weekly rebuild reads the same list: still absent, counted as opted out.
    second = _rebuild(engine, store_url, tmp_path, refs, settings)
    assert second.rejected.get("opted out") == 2 and second.indexed == first.indexed - 2
    assert _found(engine) == {GMAIL, NO_EMAIL, OTHER}
    # Asking again says so.
    again = opt_out.match_companies(store, engine, "rh@boulangerie-martin.example.fr", [MARTIN])
    assert again[0].status == "already_opted_out"


def test_a_request_with_no_eligible_company_is_refused_and_stores_nothing(store, tmp_path) -> None:
    from app.search.embedded import EmbeddedEngine

    embedded = EmbeddedEngine(tmp_path / "index")
    with embedded.new_generation("company") as builder:
        builder.add([company_doc(GMAIL, "fournil.paul@gmail.com"), company_doc(NO_EMAIL)])
    with pytest.raises(opt_out.OptOutError) as refused:
        opt_out.request_opt_out(store, embedded, SIGNER, "patron@gmail.com", [GMAIL, NO_EMAIL], "", NOW, BASE_URL)
    assert [c["status"] for c in refused.value.details["companies"]] == ["email_mismatch", "no_contact"]
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(company_opt_out_requests)).scalar() == 0
    embedded.close()


def test_confirmation_links_tampered_expired_or_of_another_purpose_remove_nothing(store, tmp_path) -> None:
    from app.search.embedded import EmbeddedEngine

    embedded = EmbeddedEngine(tmp_path / "index")
    with embedded.new_generation("company") as builder:
        builder.add([company_doc(MARTIN, "rh@boulangerie-martin.example.fr")])
    created = opt_out.request_opt_out(store, embedded, SIGNER, "rh@boulangerie-martin.example.fr", [MARTIN], "",
                                      NOW, BASE_URL)
    token = SIGNER.sign(opt_out.CONFIRM_PURPOSE, created["id"], NOW)
    tampered = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    for bad in (tampered, SIGNER.sign("callback-answer", created["id"], NOW),
                LinkSigner("other-key").sign(opt_out.CONFIRM_PURPOSE, created["id"], NOW)):
        with pytest.raises(LinkError) as refused:
            opt_out.confirm_opt_out(store, embedded, SIGNER, created["id"], bad, NOW)
        assert not isinstance(refused.value, LinkExpired)
    with pytest.raises(LinkExpired):
        opt_out.confirm_opt_out(store, embedded, SIGNER, created["id"], token, NOW + timedelta(hours=48, seconds=1))
    assert embedded.get_many("company", [MARTIN]) != {}
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(company_opt_outs)).scalar() == 0
    opt_out.confirm_opt_out(store, embedded, SIGNER, created["id"], token, NOW + timedelta(hours=47))
    assert embedded.get_many("company", [MARTIN]) == {}
    embedded.close()
