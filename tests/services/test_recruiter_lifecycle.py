"""Deposited offers' lifecycle with a controlled clock: reminders, expiry, signed links, validation, CFA delegation."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.clock import FixedClock
from app.errors import ApiError
from app.schemas_recruiter import OfferSchema
from app.services.delegations import Delegations, nearby_cfas
from app.services.recruiter_offers import RecruiterOffers
from app.store import deposited_offers, get_store, offer_delegations, outbox, write_tx
from tests.api.recruiter_setup import LYON, NOW, add_account, offer_body, published_engine

ENGINES = ["embedded", "opensearch"]


@pytest.fixture
def env(store_url, settings, refs, tmp_path):
    """The service on a real store (both databases) and a published embedded engine, at a fixed instant."""
    engine = published_engine("embedded", tmp_path / "index")
    clock = FixedClock(NOW)
    app_settings = replace(settings, database_url=store_url, secret_key="test-key",
                           public_base_url="https://lba.test", link_max_age_days=30)
    store = get_store(store_url)
    service = RecruiterOffers(store, engine, lambda: refs, app_settings, clock)
    delegations = Delegations(store, engine, app_settings, clock, service.templates)
    yield {"service": service, "delegations": delegations, "clock": clock, "store": store, "engine": engine,
           "store_url": store_url}
    engine.close()


def _create(env, account, **overrides):  # type: ignore[no-untyped-def]
    data = OfferSchema(today=env["clock"].today()).load(offer_body(**overrides))
    return env["service"].create(account, data)


def _mails(env):  # type: ignore[no-untyped-def]
    with env["store"].connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(outbox).order_by(outbox.c.id)).mappings()]


def _row(env, offer_id):  # type: ignore[no-untyped-def]
    with env["store"].connect() as conn:
        return dict(conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id == offer_id))
                    .mappings().one())


def _indexed(env, offer) -> bool:  # type: ignore[no-untyped-def]
    return offer["search_id"] in env["engine"].get_many("offer", [offer["search_id"]])


def _token(text: str, action: str, offer_id: int) -> str:
    """The token of the `action` link of an e-mail's text."""
    for url in re.findall(r"https://lba\.test/espace-pro/offres/action\?token=\S+", text):
        token = parse_qs(urlsplit(url).query)["token"][0]
        from itsdangerous import URLSafeTimedSerializer
        payload = URLSafeTimedSerializer("test-key", salt="lba.offer.action").loads(token)
        if payload["action"] == action and payload["offer"] == offer_id:
            return token
    raise AssertionError(f"no {action} link in the e-mail")


def test_reminders_7_and_1_days_before_then_expiry_each_once(env):
    account = add_account(env["store_url"])
    offer = _create(env, account)
    expires = NOW.replace(month=5)  # created 2 March 09:00 UTC: active until 2 May
    assert offer["expires_at"] == "2026-05-02T09:00:00Z" and _indexed(env, offer)
    run = env["service"].run_lifecycle
    assert run(NOW + timedelta(days=30)) == {"expired": 0, "reminded_7": 0, "reminded_1": 0}
    assert run(expires - timedelta(days=7, minutes=10)) == {"expired": 0, "reminded_7": 0, "reminded_1": 0}
    assert run(expires - timedelta(days=6, hours=23)) == {"expired": 0, "reminded_7": 1, "reminded_1": 0}
    assert run(expires - timedelta(days=6)) == {"expired": 0, "reminded_7": 0, "reminded_1": 0}  # once
    assert run(expires - timedelta(hours=23)) == {"expired": 0, "reminded_7": 0, "reminded_1": 1}
    assert run(expires - timedelta(hours=2)) == {"expired": 0, "reminded_7": 0, "reminded_1": 0}
    assert _indexed(env, offer)
    assert run(expires + timedelta(minutes=1)) == {"expired": 1, "reminded_7": 0, "reminded_1": 0}
    assert run(expires + timedelta(minutes=31)) == {"expired": 0, "reminded_7": 0, "reminded_1": 0}
    assert not _indexed(env, offer)  # out of search at once
    row = _row(env, offer["id"])
    assert row["status"] == "expired" and row["status_reason"] == "expired"
    assert row["reminded_7_at"] is not None and row["reminded_1_at"] is not None
    assert row["expiry_notified_at"] is not None
    mails = _mails(env)
    assert [m["subject"] for m in mails] == [
        "Votre offre « Boulanger / Boulangère » expire dans 7 jours",
        "Votre offre « Boulanger / Boulangère » expire demain",
        "Votre offre d'alternance a expiré"]
    assert {m["to_address"] for m in mails} == {"rh@fournil.test"}
    assert all(m["ref_id"] == str(offer["id"]) for m in mails)
    for action in ("extend", "filled", "cancel"):
        assert _token(mails[0]["text_body"], action, offer["id"])
    assert "02/05/2026" in mails[0]["text_body"]


def test_an_expired_offer_extended_from_its_e_mail_is_back_in_search_and_reminded_again(env):
    account = add_account(env["store_url"])
    offer = _create(env, account)
    expires = NOW.replace(month=5)
    env["service"].run_lifecycle(expires + timedelta(minutes=5))
    token = _token(_mails(env)[-1]["text_body"], "extend", offer["id"])
    env["clock"].set(expires + timedelta(days=1))
    context = env["service"].link_context(token)  # the confirmation page: nothing changes yet
    assert context["action"] == "extend" and context["offer"]["status"] == "expired"
    done = env["service"].act_by_link(token)
    assert done["offer"]["status"] == "active" and done["offer"]["prolongation_count"] == 1
    assert done["offer"]["expires_at"] == "2026-07-03T09:00:00Z" and _indexed(env, done["offer"])
    row = _row(env, offer["id"])
    assert row["expiry_notified_at"] is None and row["reminded_7_at"] is None
    counts = env["service"].run_lifecycle(row["expires_at"].replace(tzinfo=NOW.tzinfo) - timedelta(days=3))
    assert counts["reminded_7"] == 1


@pytest.mark.parametrize("action", ["extend", "filled", "cancel"])
def test_every_signed_link_valid_tampered_expired_and_reused(env, action):
    account = add_account(env["store_url"])
    offer = _create(env, account)
    expires = NOW.replace(month=5)
    env["service"].run_lifecycle(expires - timedelta(days=6))
    token = _token(_mails(env)[0]["text_body"], action, offer["id"])
    service = env["service"]
    # Tampered: one character changed, or another purpose's signature.
    bad = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for wrong in (bad, service.tokens.issue("application.reply", {"offer": offer["id"], "action": action})):
        with pytest.raises(ApiError) as error:
            service.act_by_link(wrong, "autre")
        assert error.value.status == 400 and error.value.code == "link_invalid"
    # Expired: valid until the offer's expiry plus the link days (30), on the app's clock.
    env["clock"].set(expires + timedelta(days=30, minutes=1))
    with pytest.raises(ApiError) as error:
        service.link_context(token)
    assert error.value.status == 410
    with pytest.raises(ApiError):
        service.act_by_link(token, "autre")
    env["clock"].set(expires - timedelta(days=5))
    if action == "cancel":  # a cancel link needs a reason of the list
        with pytest.raises(ApiError) as error:
            service.act_by_link(token, "n'importe quoi")
        assert error.value.status == 400
    done = service.act_by_link(token, "plus_besoin")
    expected = {"extend": "active", "filled": "filled", "cancel": "cancelled"}[action]
    assert done["offer"]["status"] == expected
    assert _indexed(env, done["offer"]) == (action == "extend")
    # Reused: a second use is refused, and the page says so before any click.
    with pytest.raises(ApiError) as error:
        service.act_by_link(token, "plus_besoin")
    assert error.value.status == 409 and error.value.code == "link_used"
    with pytest.raises(ApiError) as error:
        service.link_context(token)
    assert error.value.code == "link_used"


def test_validation_activates_pending_offers_and_e_mails_each_chosen_cfa_once(env):
    account = add_account(env["store_url"], status="pending")
    first, second = _create(env, account), _create(env, account, rhythm="")
    assert first["status"] == "pending" and not _indexed(env, first)
    proposals = env["delegations"].proposals(account, first["id"])
    sirets = [cfa["siret"] for cfa in proposals["cfas"]]
    assert sirets == ["19690000100011", "19690000200012"]  # nearest first, each once, with an e-mail, ≤ 100 km
    assert all("email" not in cfa for cfa in proposals["cfas"])
    with pytest.raises(ApiError) as error:
        env["delegations"].choose(account, first["id"], ["19750000400014"])  # Paris: not proposed
    assert error.value.status == 400
    chosen = env["delegations"].choose(account, first["id"], sirets)
    assert [c["notified"] for c in chosen["chosen"]] == [False, False]
    assert _mails(env) == []  # not before validation

    later = NOW + timedelta(days=3)
    with write_tx(env["store"]) as conn:
        ids = env["service"].on_account_validated(conn, {**account, "status": "validated"}, later)
        assert not _indexed(env, first)  # nothing reaches search before the validation commits
    assert sorted(ids) == sorted([first["id"], second["id"]])
    # Indexed once the validation's connection went back to the pool: the caller had nothing to call.
    for offer_id in ids:
        row = _row(env, offer_id)
        assert row["status"] == "active" and row["expires_at"].replace(tzinfo=NOW.tzinfo) == later.replace(month=5)
    assert _indexed(env, first) and _indexed(env, second)
    mails = _mails(env)
    assert [(m["to_address"], m["subject"]) for m in mails] == [
        ("contact@cfa-bouche.test", "Une entreprise recrute dans votre domaine"),
        ("ecole@pain.test", "Une entreprise recrute dans votre domaine")]
    assert "rh@fournil.test" in mails[0]["text_body"]
    with write_tx(env["store"]) as conn:  # validated again (e.g. a retried callback): nobody is e-mailed twice
        assert env["service"].on_account_validated(conn, account, later) == []
    assert len(_mails(env)) == 2
    with env["store"].connect() as conn:
        assert all(r["notified_at"] is not None for r in conn.execute(sa.select(offer_delegations)).mappings())


def test_a_validation_rolled_back_activates_and_indexes_nothing(env):
    account = add_account(env["store_url"], status="pending")
    offer = _create(env, account)
    env["delegations"].choose(account, offer["id"], ["19690000100011"])
    with pytest.raises(RuntimeError), write_tx(env["store"]) as conn:
        env["service"].on_account_validated(conn, account, NOW)
        raise RuntimeError("the accounts side failed after the callback")
    assert _row(env, offer["id"])["status"] == "pending" and not _indexed(env, offer) and _mails(env) == []


def test_a_validated_account_s_cfas_are_e_mailed_when_chosen(env):
    account = add_account(env["store_url"])
    offer = _create(env, account)
    env["delegations"].choose(account, offer["id"], ["19690000200012"])
    env["delegations"].choose(account, offer["id"], ["19690000200012", "19690000100011"])
    assert [m["to_address"] for m in _mails(env)] == ["ecole@pain.test", "contact@cfa-bouche.test"]


@pytest.fixture(scope="module")
def opensearch_url():
    from tests.search.opensearch import session_node
    yield from session_node()


@pytest.mark.parametrize("kind", ENGINES)
def test_nearby_cfas_on_both_engines(request, kind, tmp_path):
    url = request.getfixturevalue("opensearch_url") if kind == "opensearch" else None
    engine = published_engine(kind, tmp_path / "index", url)
    try:
        found = nearby_cfas(engine, "D1102", LYON.latitude, LYON.longitude)
        assert [(c["siret"], c["email"]) for c in found] == [
            ("19690000100011", "contact@cfa-bouche.test"), ("19690000200012", "ecole@pain.test")]
        assert found[0]["formation_id"] == "F-NEAR" and found[0]["distance_km"] < found[1]["distance_km"] <= 100
        assert nearby_cfas(engine, "M1805", LYON.latitude, LYON.longitude)[0]["siret"] == "19690000500015"
        assert nearby_cfas(engine, "D1102", LYON.latitude, LYON.longitude, limit=1)[0]["formation_id"] == "F-NEAR"
    finally:
        engine.close()
        if url:
            from tests.search.opensearch import drop_prefix
            drop_prefix(url, engine.prefix)


def test_the_lifecycle_command_runs_a_pass(env, monkeypatch):
    from click.testing import CliRunner

    from scripts.cli import main
    from scripts.offers_cli import EVERY_MINUTES, add_offers_jobs

    account = add_account(env["store_url"])
    _create(env, account)
    monkeypatch.setenv("DATABASE_URL", env["store_url"])
    monkeypatch.setenv("SEARCH_ENGINE", "embedded")
    monkeypatch.setenv("LBA_INDEX_DIR", str(env["engine"].root))
    result = CliRunner().invoke(main, ["offers", "lifecycle", "--now", "2026-05-02T09:30:00+00:00"])
    assert result.exit_code == 0, result.output
    assert '"expired": 1' in result.output
    assert _mails(env)[-1]["subject"] == "Votre offre d'alternance a expiré"
    from apscheduler.schedulers.background import BackgroundScheduler
    scheduler = BackgroundScheduler()
    add_offers_jobs(scheduler, env["service"].settings)
    job = scheduler.get_job("offers_lifecycle")
    assert job is not None and job.trigger.interval == timedelta(minutes=EVERY_MINUTES) == timedelta(minutes=5)
