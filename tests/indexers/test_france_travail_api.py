"""France Travail API client against a local server: token renewal, 206 paging, 429/5xx retries, capped splits."""
from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from app.referentials import Referentials
from indexers import ImportStats
from indexers.france_travail_api import (
    RESULT_CAP,
    FranceTravailClient,
    FranceTravailConfig,
    FranceTravailError,
    departements_of,
    iter_documents,
    split_codes,
)
from tests.indexers.ft_server import FakeClock, FakeFranceTravail, Raw, make_offers, sample_offers

NOW = datetime(2026, 9, 1, tzinfo=timezone.utc)


def _client(fake: FakeFranceTravail, clock: FakeClock | None = None, **changes: Any) -> FranceTravailClient:
    clock = clock or FakeClock()
    config = FranceTravailConfig(client_id="lba", client_secret="secret", token_url=f"{fake.url}/token",
                                 api_url=f"{fake.url}/search", timeout_s=10, **changes)
    return FranceTravailClient(config, sleep=clock.sleep, clock=clock, rng=random.Random(7), now=lambda: NOW)


@pytest.fixture()
def four_hundred() -> Iterator[FakeFranceTravail]:
    with FakeFranceTravail(make_offers(400, "57", ["D1212"])).running() as fake:
        yield fake


def test_departement_is_read_in_pages_of_150_through_206_content_range(four_hundred: FakeFranceTravail) -> None:
    client = _client(four_hundred)
    items = list(client.iter_departement("57", ["D1212"]))
    assert len(items) == 400 and len({i["id"] for i in items}) == 400
    assert [s["range"] for s in four_hundred.searches] == ["0-149", "150-299", "300-449"]
    assert all(s["natureContrat"] == "E2,FS" and s["departement"] == "57" for s in four_hundred.searches)
    assert len(four_hundred.token_requests) == 1  # the token is cached between calls
    form = four_hundred.token_requests[0]
    assert form["grant_type"] == ["client_credentials"] and form["scope"] == ["api_offresdemploiv2 o2dsoffre"]


def test_small_answers_200_without_content_range_and_empty_ones_204() -> None:
    with FakeFranceTravail(sample_offers()).running() as fake:
        client = _client(fake)
        assert len(list(client.iter_departement("57", ["D1212"]))) == 4  # one 200 page, no Content-Range
        assert list(client.iter_departement("01", ["D1212"])) == []  # 204
        assert len(fake.searches) == 2


def test_token_is_renewed_shortly_before_it_expires(four_hundred: FakeFranceTravail) -> None:
    four_hundred.token_lifetime = 100  # seconds; renewed 50 s early (half its life, capped at 60 s)
    clock = FakeClock()
    client = _client(four_hundred, clock)
    client.search_page({"departement": "57"}, 0)
    clock.now += 40
    client.search_page({"departement": "57"}, 0)
    assert len(four_hundred.token_requests) == 1  # still fresh
    clock.now += 15  # 55 s after issue: inside the renewal margin, before the real expiry
    client.search_page({"departement": "57"}, 0)
    assert len(four_hundred.token_requests) == 2
    assert client.stats.as_dict().get("token_rejected") is None  # renewed before any 401


def test_a_401_renews_the_token_once_and_retries(four_hundred: FakeFranceTravail) -> None:
    client = _client(four_hundred)
    client.search_page({"departement": "57"}, 0)
    four_hundred.revoke()  # the server forgets the token before its announced expiry
    page = client.search_page({"departement": "57"}, 150)
    assert len(page.items) == 150 and page.total == 400
    assert len(four_hundred.token_requests) == 2
    assert client.stats.as_dict()["token_rejected"] == 1


def test_wrong_credentials_fail_clearly(four_hundred: FakeFranceTravail) -> None:
    client = _client(four_hundred)
    client.config = FranceTravailConfig("lba", "wrong", f"{four_hundred.url}/token", f"{four_hundred.url}/search")
    client.tokens.config = client.config
    with pytest.raises(FranceTravailError, match="token endpoint answered 400"):
        client.search_page({"departement": "57"}, 0)


def test_429_honours_retry_after_and_5xx_backs_off_with_jitter(four_hundred: FakeFranceTravail) -> None:
    clock = FakeClock()
    client = _client(four_hundred, clock, min_interval_s=0.0, backoff_s=1.0)
    four_hundred.failures = [(429, {"Retry-After": "0"}), (503, {}), (429, {"Retry-After": "2"})]
    items = list(client.iter_departement("57", ["D1212"]))
    assert len(items) == 400
    # Retry-After 0, then a jittered backoff of the 2nd attempt in [1, 2] s, then Retry-After 2.
    assert clock.sleeps[0] == 0.0 and 1.0 <= clock.sleeps[1] <= 2.0 and clock.sleeps[2] == 2.0
    assert client.stats.as_dict()["retries"] == 3 and client.stats.as_dict()["rate_limited"] == 2


def test_retries_are_bounded(four_hundred: FakeFranceTravail) -> None:
    clock = FakeClock()
    client = _client(four_hundred, clock, min_interval_s=0.0, max_retries=3, backoff_s=1.0, max_backoff_s=3.0)
    four_hundred.failures = [(502, {})] * 10
    with pytest.raises(FranceTravailError, match="after 3 retries"):
        client.search_page({"departement": "57"}, 0)
    assert len(clock.sleeps) == 3 and all(s <= 3.0 for s in clock.sleeps)
    assert len(four_hundred.searches) == 4


def test_a_client_error_is_not_retried(four_hundred: FakeFranceTravail) -> None:
    client = _client(four_hundred)
    with pytest.raises(FranceTravailError, match="answered 400"):
        client.search_page({"departement": "57"}, 3150)  # beyond the API's first-index limit
    assert len(four_hundred.searches) == 1


def test_calls_are_spaced_to_respect_the_rate_limit(four_hundred: FakeFranceTravail) -> None:
    clock = FakeClock()
    client = _client(four_hundred, clock, min_interval_s=0.12)
    list(client.iter_departement("57", ["D1212"]))
    assert clock.sleeps == [pytest.approx(0.12)] * 2  # before the 2nd and 3rd call; the clock does not move else


def test_a_capped_departement_is_split_by_rome_code() -> None:
    # 3,400 offers in Moselle: over the 3,150 the API lets one query read.
    offers = make_offers(3400, "57", ["D1212", "D1214", "M1805", "M1806"])
    with FakeFranceTravail(offers).running() as fake:
        client = _client(fake, min_interval_s=0.0)
        items = list(client.iter_departement("57", ["A1101", "D1212", "D1214", "M1805", "M1806"]))
    assert sorted(i["id"] for i in items) == sorted(o["id"] for o in offers)
    assert client.stats.as_dict()["split_queries"] == 1
    split = [s for s in fake.searches if "codeROME" in s]
    assert {s["codeROME"] for s in split} == {"A1101", "D1212,D1214", "M1805,M1806"}  # one query per grand domaine
    # Every range asked stays inside what the API serves (the fake answers 400 otherwise).
    assert max(int(s["range"].split("-")[0]) for s in fake.searches) <= 3000


def test_one_rome_code_over_the_cap_is_split_by_creation_date() -> None:
    offers = make_offers(3300, "54", ["D1212"])  # one offer every 3 hours from 2025-01-01
    with FakeFranceTravail(offers).running() as fake:
        client = _client(fake, min_interval_s=0.0)
        items = list(client.iter_departement("54", ["D1212", "D1214"]))
    assert sorted(i["id"] for i in items) == sorted(o["id"] for o in offers)
    windows = [(s["minCreationDate"], s["maxCreationDate"]) for s in fake.searches if "minCreationDate" in s]
    assert windows and all(s.get("codeROME") == "D1212" for s in fake.searches if "minCreationDate" in s)
    # Windows never overlap: an offer created on a boundary second is read once.
    assert len(items) == len({i["id"] for i in items})
    assert client.stats.as_dict()["split_queries"] >= 3  # département, ROME group D, code D1212, then dates


def test_split_codes_cuts_by_grand_domaine_then_domaine_then_code() -> None:
    assert split_codes(["A1101", "A1203", "D1102"]) == [["A1101", "A1203"], ["D1102"]]
    assert split_codes(["D1102", "D1106", "D1212"]) == [["D1102", "D1106"], ["D1212"]]
    assert split_codes(["D1102", "D1106"]) == [["D1102"], ["D1106"]]
    assert split_codes(["D1102"]) == []
    # A grand domaine with more codes than codeROME accepts is sent in chunks of 200.
    many = [f"M{1000 + n:04d}" for n in range(250)] + ["D1102"]
    assert [len(g) for g in split_codes(many)] == [200, 50, 1]


def test_offers_seen_twice_are_yielded_once() -> None:
    twin = copy.deepcopy(sample_offers()[0])
    twin["_departement"] = "54"  # the same offer listed under two départements
    with FakeFranceTravail([*sample_offers(), twin]).running() as fake:
        client = _client(fake)
        items = list(client.iter_offers(["57", "54"], ["D1212"]))
    assert len(items) == 8 and client.stats.as_dict()["duplicates"] == 1


def test_malformed_items_are_rejected_with_their_reasons(refs: Referentials) -> None:
    good = sample_offers()
    no_place = copy.deepcopy(good[0])
    no_place.update(id="NOPLACE", lieuTravail={"libelle": "Lieu inconnu"})
    no_id = copy.deepcopy(good[1])
    no_id.pop("id")
    no_id["_departement"] = "57"
    bad_rome = copy.deepcopy(good[2])
    bad_rome.update(id="BADROME", romeCode="Z9999")
    bad_date = copy.deepcopy(good[3])
    bad_date.update(id="BADDATE", dateCreation="hier")
    no_place["_departement"] = "57"
    served = [*good, no_place, no_id, bad_rome, bad_date, Raw("57", "not an offer"), Raw("57", 42)]
    with FakeFranceTravail(served).running() as fake:
        stats = ImportStats("france_travail")
        docs = list(iter_documents(_client(fake), refs, stats, departements=["57", "54"]))
    assert len(docs) == 8 and stats.read == 14 and stats.indexed == 8
    assert dict(stats.rejected) == {"no location": 1, "missing id": 1, "unknown ROME code": 1,
                                    "bad dateCreation": 1, "not an object": 2}
    assert {d["id"] for d in docs} == {f"france_travail-{o['id']}" for o in good}


def test_departements_come_from_the_communes_referential(refs: Referentials) -> None:
    codes = departements_of(refs)
    assert {"01", "2A", "2B", "75", "971", "972", "973", "974", "976"} <= set(codes)
    assert "20" not in codes and "975" not in codes  # Corsica is 2A/2B; Saint-Pierre-et-Miquelon is not a DROM
    assert len(codes) == 101


def test_configuration_from_the_environment_defaults_to_the_real_endpoints() -> None:
    assert FranceTravailConfig.from_env({}) is None  # no credentials: the file source is used
    config = FranceTravailConfig.from_env({"LBA_FT_CLIENT_ID": "id", "LBA_FT_CLIENT_SECRET": "s"})
    assert config is not None
    assert config.token_url.startswith("https://entreprise.francetravail.fr/connexion/oauth2/access_token")
    assert config.api_url == "https://api.francetravail.io/partenaire/offresdemploi/v2/offres/search"
    assert RESULT_CAP == 3150


def test_an_unreachable_api_is_retried_then_reported(four_hundred: FakeFranceTravail) -> None:
    clock = FakeClock()
    client = _client(four_hundred, clock, max_retries=2, min_interval_s=0.0)
    client.config = FranceTravailConfig("lba", "secret", f"{four_hundred.url}/token", "http://127.0.0.1:9/search",
                                        timeout_s=2, max_retries=2, min_interval_s=0.0)
    with pytest.raises(FranceTravailError, match="after 2 retries"):
        client.search_page({"departement": "57"}, 0)
    assert len(clock.sleeps) == 2 and client.stats.as_dict()["retries"] == 2
