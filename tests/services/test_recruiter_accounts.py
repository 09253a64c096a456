"""Recruiter accounts on both databases: sign-up by SIRET, magic links, validation (automatic or not), CFA partners."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.clock import FixedClock
from app.config import Settings
from app.search.embedded import EmbeddedEngine
from app.services.company_search import CompanyClosed, CompanySearch, EducationSector
from app.services.recruiter_account_sign_in import LOGIN_PURPOSE
from app.services.recruiter_accounts import AccountError, AccountService, LinkError, NotAllowed, SignUp
from app.services.siret import SiretError
from app.store import get_store, outbox, recruiter_accounts
from tests.services import company_search_server as api
from tests.services.contact_env import company_doc
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures: every test runs on both databases

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
BASE = "https://lba.test"
KNOWN = "contact@boulangerie-durand.fr"  # the company's contact in the recruiters index


class Recorder:
    """An on_validated callback that records what it was given and proves it runs inside the transaction."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[int, str, datetime, bool]] = []
        self.fail = fail

    def __call__(self, conn, account: dict, now: datetime) -> None:  # type: ignore[no-untyped-def]
        status = conn.execute(sa.select(recruiter_accounts.c.status)
                              .where(recruiter_accounts.c.id == account["id"])).scalar_one()
        self.calls.append((account["id"], status, now, conn.in_transaction()))
        if self.fail:
            raise RuntimeError("offers side failed")


@pytest.fixture
def server():
    with api.CompanySearchServer() as running:
        yield running


@pytest.fixture
def env(server, store_url: str, tmp_path: Path, refs):  # noqa: F811
    clock = FixedClock(NOW)
    engine = EmbeddedEngine(tmp_path / "index")
    with engine.new_generation("company") as builder:
        builder.add([company_doc(api.VALID, KNOWN, name="Boulangerie Durand")])
    settings = Settings(database_url=store_url, public_base_url=BASE, secret_key="test-signing-key")
    store = get_store(store_url)
    companies = CompanySearch(server.url, 2.0, 7, store, clock, refs, retries=1, backoff_s=0.01)
    recorder = Recorder()
    service = AccountService(store, clock, settings, companies, on_validated=[recorder], engine=engine)
    return service, clock, recorder, store


def person(siret: str, email: str, kind: str = "entreprise") -> SignUp:
    return SignUp(kind, siret, email, "Paul", "Durand", "0478000000")


def mails(store, kind: str = "") -> list[dict]:  # type: ignore[no-untyped-def]
    with store.connect() as conn:
        query = sa.select(outbox).order_by(outbox.c.id)
        if kind:
            query = query.where(outbox.c.kind == kind)
        return [dict(row) for row in conn.execute(query).mappings()]


def link_token(mail: dict) -> str:
    url = re.search(rf"{re.escape(BASE)}/espace-pro/connexion/lien\?token=(\S+)", mail["text_body"])
    assert url, mail["text_body"]
    return url.group(1)


def test_sign_up_queues_a_magic_link_and_following_it_confirms_the_email(env) -> None:
    service, clock, recorder, store = env
    account = service.sign_up(person(api.VALID, "Paul.Durand@Example-Conseil.fr"))
    assert account["status"] == "pending" and account["email"] == "paul.durand@example-conseil.fr"
    assert account["company_name"] == "BOULANGERIE DURAND" and account["opco"] == "Opco EP"
    assert account["naf"] == "10.71C" and account["city"] == "LYON" and account["email_confirmed_at"] is None
    [mail] = mails(store)
    assert mail["kind"] == "recruiter.login" and mail["to_address"] == "paul.durand@example-conseil.fr"
    assert "30 minutes" in mail["text_body"] and "BOULANGERIE DURAND" in mail["text_body"]
    clock.set(NOW + timedelta(minutes=5))
    signed_in = service.confirm_login(link_token(mail))
    assert signed_in["email_confirmed_at"] == NOW + timedelta(minutes=5)
    assert signed_in["last_login_at"] == NOW + timedelta(minutes=5)
    assert signed_in["status"] == "pending"  # the domain is known nowhere: a validator decides
    assert recorder.calls == []


def test_the_domain_of_the_company_contact_in_the_index_validates_at_once(env) -> None:
    service, clock, recorder, store = env
    service.sign_up(person(api.VALID, "paul@boulangerie-durand.fr"))
    account = service.confirm_login(link_token(mails(store)[-1]))
    assert account["status"] == "validated" and account["validated_at"] == NOW
    assert recorder.calls == [(account["id"], "validated", NOW, True)]
    assert mails(store, "recruiter.validated") == []  # the recruiter is on the page: no e-mail needed


def test_the_domain_of_a_validated_account_of_the_same_siren_validates_at_once(env) -> None:
    service, clock, recorder, store = env
    admin = service.grant_admin("admin@lba.test")
    first = service.sign_up(person(api.SECOND, "marie@durand-boulangerie.com"))
    service.validate(admin, first["id"])
    assert [call[0] for call in recorder.calls] == [first["id"]]
    assert mails(store, "recruiter.validated")[0]["to_address"] == "marie@durand-boulangerie.com"
    service.sign_up(person(api.VALID, "jean@durand-boulangerie.com"))  # another establishment, same SIREN
    second = service.confirm_login(link_token(mails(store, "recruiter.login")[-1]))
    assert second["status"] == "validated"


def test_a_public_mailbox_never_validates_by_itself(env) -> None:
    service, clock, recorder, store = env
    admin = service.grant_admin("admin@lba.test")
    first = service.sign_up(person(api.SECOND, "durand.lyon@gmail.com"))
    service.validate(admin, first["id"])
    service.sign_up(person(api.VALID, "paul.durand@gmail.com"))
    second = service.confirm_login(link_token(mails(store, "recruiter.login")[-1]))
    assert second["status"] == "pending"


def test_a_failing_callback_leaves_the_account_pending(env) -> None:
    service, clock, recorder, store = env
    recorder.fail = True
    service.sign_up(person(api.VALID, "paul@boulangerie-durand.fr"))
    token = link_token(mails(store)[-1])
    with pytest.raises(RuntimeError):
        service.confirm_login(token)
    with store.connect() as conn:
        row = conn.execute(sa.select(recruiter_accounts)).mappings().one()
    assert row["status"] == "pending" and row["email_confirmed_at"] is None  # all or nothing
    recorder.fail = False
    assert service.confirm_login(token)["status"] == "validated"  # the link was not used up either


@pytest.mark.parametrize(("siret", "kind", "error"), [
    (api.CLOSED, "entreprise", CompanyClosed),
    (api.CLOSED, "cfa", CompanyClosed),
    (api.EDUCATION, "entreprise", EducationSector),
    ("41234567000018", "entreprise", SiretError),
])
def test_refused_establishments(env, siret: str, kind: str, error: type) -> None:
    service, clock, recorder, store = env
    with pytest.raises(error):
        service.sign_up(person(siret, "x@example-entreprise.fr", kind))
    assert mails(store) == []


def test_a_cfa_signs_up_with_its_education_siret_and_manages_partner_companies(env) -> None:
    service, clock, recorder, store = env
    cfa = service.sign_up(person(api.EDUCATION, "direction@cfa-bois.fr", "cfa"))
    assert cfa["kind"] == "cfa" and cfa["naf"] == "85.59A"
    partner = service.add_partner_company(cfa, api.VALID, "Contact@Boulangerie-Durand.fr", "0478000000")
    assert partner["company_name"] == "BOULANGERIE DURAND" and partner["email"] == "contact@boulangerie-durand.fr"
    assert service.add_partner_company(cfa, api.VALID)["id"] == partner["id"]  # once per CFA
    with pytest.raises(EducationSector):
        service.add_partner_company(cfa, api.EDUCATION)
    with pytest.raises(CompanyClosed):
        service.add_partner_company(cfa, api.CLOSED)
    assert [row["siret"] for row in service.partner_companies(cfa)] == [api.VALID]
    company = service.sign_up(person(api.SECOND, "paul@example-entreprise.fr"))
    with pytest.raises(NotAllowed):
        service.add_partner_company(company, api.VALID)


def test_one_account_per_address(env) -> None:
    service, clock, recorder, store = env
    service.sign_up(person(api.VALID, "paul@example-entreprise.fr"))
    with pytest.raises(AccountError) as caught:
        service.sign_up(person(api.SECOND, " PAUL@example-entreprise.fr "))
    assert caught.value.field == "email" and "existe déjà" in caught.value.message


def test_magic_links_valid_expired_tampered_reused_and_of_another_purpose(env) -> None:
    service, clock, recorder, store = env
    account = service.sign_up(person(api.VALID, "paul@example-entreprise.fr"))
    token = link_token(mails(store)[-1])
    assert service.check_login_link(token)["id"] == account["id"]  # reading does not use it up
    tampered = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    with pytest.raises(LinkError) as caught:
        service.confirm_login(tampered)
    assert caught.value.code == "invalid"
    other_purpose = service.tokens.issue("application.reply", {"account": account["id"], "email": account["email"],
                                                               "iat": NOW.timestamp()})
    with pytest.raises(LinkError):
        service.confirm_login(other_purpose)
    clock.set(NOW + timedelta(minutes=31))
    with pytest.raises(LinkError) as caught:
        service.confirm_login(token)
    assert caught.value.code == "expired" and "expiré" in caught.value.message
    clock.set(NOW + timedelta(minutes=29))
    service.confirm_login(token)
    with pytest.raises(LinkError) as caught:
        service.confirm_login(token)
    assert caught.value.code == "used" and "déjà servi" in caught.value.message
    assert service.tokens.read(LOGIN_PURPOSE, token)["account"] == account["id"]


def test_sign_in_requests_say_nothing_about_unknown_or_refused_addresses(env) -> None:
    service, clock, recorder, store = env
    assert service.request_login("nobody@example.fr") is False
    account = service.sign_up(person(api.VALID, "paul@example-entreprise.fr"))
    assert service.request_login("PAUL@example-entreprise.fr") is True
    assert len(mails(store, "recruiter.login")) == 2
    token = link_token(mails(store)[-1])
    service.refuse(service.grant_admin("admin@lba.test"), account["id"], "SIRET sans rapport avec l'adresse")
    assert service.request_login("paul@example-entreprise.fr") is False
    with pytest.raises(LinkError) as caught:
        service.confirm_login(token)  # a link sent before the refusal no longer signs in
    assert caught.value.code == "inactive"


def test_validators_see_their_scope_and_decide_in_one_step(env) -> None:
    service, clock, recorder, store = env
    admin = service.grant_admin("Admin@LBA.test")
    assert admin["kind"] == "admin" and admin["is_admin"] and admin["status"] == "validated"
    opco_ep = service.grant_admin("validation@opcoep.fr", opco="Opco EP")
    commerce = service.grant_admin("validation@opcommerce.com", opco="L'Opcommerce")
    bakery = service.sign_up(person(api.VALID, "paul@example-entreprise.fr"))       # IDCC 0843 → Opco EP
    grocery = service.sign_up(person(api.RETRIED, "luc@example-epicerie.fr"))       # IDCC 2216 → L'Opcommerce
    assert grocery["opco"] == "L'Opcommerce"
    assert [row["id"] for row in service.pending_accounts(admin)] == [bakery["id"], grocery["id"]]
    assert [row["id"] for row in service.pending_accounts(opco_ep)] == [bakery["id"]]
    assert [row["id"] for row in service.pending_accounts(commerce)] == [grocery["id"]]
    with pytest.raises(NotAllowed):
        service.pending_accounts(bakery)  # a recruiter is no validator
    with pytest.raises(NotAllowed):
        service.validate(opco_ep, grocery["id"])  # another OPCO's company
    with pytest.raises(AccountError) as caught:
        service.refuse(commerce, grocery["id"], "  ")
    assert caught.value.field == "reason"
    clock.set(NOW + timedelta(hours=2))
    validated = service.validate(opco_ep, bakery["id"])
    assert validated["status"] == "validated" and validated["validated_by"] == "validation@opcoep.fr"
    assert recorder.calls == [(bakery["id"], "validated", NOW + timedelta(hours=2), True)]
    refused = service.refuse(commerce, grocery["id"], "Établissement sans lien avec l'adresse e-mail")
    assert refused["status"] == "refused" and refused["session_version"] == grocery["session_version"] + 1
    [told] = mails(store, "recruiter.refused")
    assert told["to_address"] == "luc@example-epicerie.fr" and "sans lien avec l'adresse" in told["text_body"]
    assert mails(store, "recruiter.validated")[0]["to_address"] == "paul@example-entreprise.fr"
    with pytest.raises(AccountError) as caught:
        service.validate(admin, grocery["id"])
    assert caught.value.code == "already_decided"
    assert service.pending_accounts(admin) == []


def test_the_opco_role_needs_an_address_of_its_own(env) -> None:
    service, clock, recorder, store = env
    service.sign_up(person(api.VALID, "paul@example-entreprise.fr"))
    with pytest.raises(AccountError):
        service.grant_admin("paul@example-entreprise.fr", opco="Opco EP")
    promoted = service.grant_admin("paul@example-entreprise.fr")
    assert promoted["is_admin"] and promoted["kind"] == "entreprise"
    assert service.revoke_admin("paul@example-entreprise.fr") is True
    assert service.revoke_admin("paul@example-entreprise.fr") is False


def test_magic_links_are_limited_per_address_and_hour(env) -> None:
    service, clock, recorder, store = env
    service.sign_up(person(api.VALID, "paul@example-entreprise.fr"))  # the first link
    sent = [service.request_login("paul@example-entreprise.fr") for _ in range(6)]
    assert sent == [True, True, True, True, False, False]
    assert len(mails(store, "recruiter.login")) == 5
    clock.set(NOW + timedelta(minutes=61))
    assert service.request_login("paul@example-entreprise.fr") is True
