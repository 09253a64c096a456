"""The company-search client against a local server answering recorded payloads: outcomes, retries, timeouts, cache."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.clock import FixedClock
from app.config import Settings
from app.services.company_search import (
    CompanyClosed,
    CompanyMalformed,
    CompanyNotDiffusible,
    CompanySearch,
    CompanySearchUnavailable,
    CompanyUnknown,
    EducationSector,
    client_from_settings,
    eligible,
)
from app.store import company_lookups, get_store
from tests.services import company_search_server as api
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures: every test runs on both databases

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def server():
    with api.CompanySearchServer() as running:
        yield running


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def client(server, store_url: str, clock: FixedClock, refs) -> CompanySearch:  # noqa: F811
    settings = Settings(company_search_url=server.url, company_search_timeout_s=0.5, company_search_cache_days=7)
    built = client_from_settings(settings, get_store(store_url), clock, refs)
    built.session.adapters["http://"].max_retries.backoff_factor = 0.01  # keep the retried test short
    return built


def test_a_valid_establishment_is_normalised(client: CompanySearch) -> None:
    company = client.lookup(api.VALID)
    assert company.name == "BOULANGERIE DURAND" and company.siren == "412345670"
    assert company.address == "12 RUE DE LA REPUBLIQUE 69002 LYON"
    assert (company.postcode, company.city, company.insee) == ("69002", "LYON", "69382")
    assert company.latitude == pytest.approx(45.760012) and company.longitude == pytest.approx(4.835659)
    assert company.naf == "10.71C" and company.naf_label == "Boulangerie et boulangerie-pâtisserie"
    assert company.size == "6 à 9 salariés"
    assert company.opco == "Opco EP"  # IDCC 0843 (boulangerie artisanale) → OPCO EP
    assert company.active and not company.is_education
    assert eligible(company) is company


def test_a_second_establishment_is_found_among_the_matching_ones(client: CompanySearch) -> None:
    company = client.lookup(api.SECOND)
    assert company.siret == api.SECOND and company.address.startswith("3 PLACE BELLECOUR")
    assert company.size == "1 ou 2 salariés"


def test_a_closed_establishment_is_refused(client: CompanySearch) -> None:
    company = client.lookup(api.CLOSED)
    assert not company.active
    with pytest.raises(CompanyClosed) as caught:
        eligible(company)
    assert "fermé" in caught.value.message


def test_an_education_establishment_must_sign_up_as_a_cfa(client: CompanySearch) -> None:
    company = client.lookup(api.EDUCATION)
    assert company.is_education and company.naf_label == "Formation continue d'adultes"
    with pytest.raises(EducationSector) as caught:
        eligible(company)
    assert "doit créer un compte CFA" in caught.value.message
    assert eligible(company, allow_education=True) is company


@pytest.mark.parametrize(("siret", "error", "words"), [
    (api.UNKNOWN, CompanyUnknown, "Aucun établissement"),
    (api.NON_DIFFUSIBLE, CompanyNotDiffusible, "pas diffusables"),
    (api.MALFORMED, CompanyMalformed, "réessayez dans quelques minutes"),
    (api.WRONG_SHAPE, CompanyMalformed, "réessayez dans quelques minutes"),
    (api.ALWAYS_DOWN, CompanySearchUnavailable, "réessayez dans quelques minutes"),
    (api.SLOW, CompanySearchUnavailable, "réessayez dans quelques minutes"),
])
def test_every_other_answer_has_its_french_outcome(client: CompanySearch, siret: str, error: type,
                                                   words: str) -> None:
    with pytest.raises(error) as caught:
        client.lookup(siret)
    assert words in caught.value.message


def test_a_503_is_retried_and_the_second_answer_used(client: CompanySearch, server) -> None:
    company = client.lookup(api.RETRIED)
    assert company.name == "EPICERIE DU PORT" and server.requests[api.RETRIED] == 2


def test_the_api_verdicts_are_cached_and_shared_errors_are_not(client: CompanySearch, server,
                                                               store_url: str,  # noqa: F811
                                                               clock: FixedClock, refs) -> None:
    client.lookup(api.VALID)
    for siret in (api.UNKNOWN, api.NON_DIFFUSIBLE, api.ALWAYS_DOWN, api.MALFORMED):
        with pytest.raises(Exception):
            client.lookup(siret)
    first = dict(server.requests)
    # Another process (a new client on the same store) finds the verdicts in the shared table.
    other = CompanySearch(server.url, 0.5, 7, get_store(store_url), clock, refs, retries=0)
    assert other.lookup(api.VALID).name == "BOULANGERIE DURAND"
    with pytest.raises(CompanyUnknown):
        other.lookup(api.UNKNOWN)
    with pytest.raises(CompanyNotDiffusible):
        other.lookup(api.NON_DIFFUSIBLE)
    for siret in (api.VALID, api.UNKNOWN, api.NON_DIFFUSIBLE):
        assert server.requests[siret] == first[siret] == 1, siret
    # Errors were not cached: they are asked again.
    with pytest.raises(CompanySearchUnavailable):
        other.lookup(api.ALWAYS_DOWN)
    with pytest.raises(CompanyMalformed):
        other.lookup(api.MALFORMED)
    assert server.requests[api.ALWAYS_DOWN] == first[api.ALWAYS_DOWN] + 1
    assert server.requests[api.MALFORMED] == first[api.MALFORMED] + 1
    with get_store(store_url).connect() as conn:
        cached = dict(conn.execute(sa.select(company_lookups.c.siret, company_lookups.c.outcome)).all())
    assert cached == {api.VALID: "found", api.UNKNOWN: "unknown", api.NON_DIFFUSIBLE: "non_diffusible"}
    # After the cache period the API is asked again, and the row refreshed.
    clock.set(NOW + timedelta(days=8))
    other.lookup(api.VALID)
    assert server.requests[api.VALID] == 2
