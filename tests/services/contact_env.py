"""Shared pieces of the contact-flow tests: documents, a controlled clock, an app on a real store, SMTP delivery."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from app.clock import Clock as AppClock
from app.config import Settings
from app.factory import create_app
from app.services.mailer import SmtpConfig, SmtpSender
from app.services.outbox import OutboxPolicy, deliver
from mappings import company, formation
from mappings.common import Place
from scripts.smtp_sink import Received, SmtpSink

CFA_EMAIL = "accueil@cfa-boulangerie.example.org"
APPLICANT_EMAIL = "Camille.Durand@example.net"
COMPANY_EMAIL = "rh@boulangerie-martin.example.fr"
SECRET = "test-signing-key"
BASE_URL = "https://lba.example.test"


@dataclass
class Clock:
    """A controlled clock: the app and the services read `now`; tests move it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def paris(text: str) -> datetime:
    """An aware datetime from Paris wall-clock text (e.g. '2026-03-06 15:00')."""
    from zoneinfo import ZoneInfo
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Paris")).astimezone(timezone.utc)


def formation_doc(key: str, *, eligible: bool = True, email: str = CFA_EMAIL, title: str = "CAP Boulanger",
                  siret: str = "78424186100011") -> dict[str, Any]:
    record = formation.Formation(
        key=key, title=title, romes=["D1102"], rome_index_codes=["D1102"],
        place=Place(45.764, 4.8357, address="80 rue Jules Ferry", city="Lyon", postcode="69003", insee="69383"),
        diploma_level=3, cfd="50022135", centre_name="CFA des métiers de bouche", centre_siret=siret,
        callback_eligible=eligible and bool(email), contact_email=email)
    return formation.to_document(record)


def company_doc(siret: str, email: str = "", name: str = "Boulangerie Martin") -> dict[str, Any]:
    record = company.Company(siret=siret, name=name, place=Place(45.75, 4.85, address="3 place Bellecour",
                                                                   city="Lyon", postcode="69002", insee="69382"),
                             rome_scores={"D1102": 80.0}, rome_index_codes=["D1102"], naf="1071C", email=email,
                             phone="0478000000" if not email else "")
    return company.to_document(record)


def contact_settings(base: Settings, store_url: str, folder: Any) -> Settings:
    return replace(base, database_url=store_url, ratelimit_path=str(folder / "ratelimit.sqlite"),
                   anonymous_rate=100000, secret_key=SECRET, public_base_url=BASE_URL)


def make_app(settings: Settings, engine: Any, clock: Clock):  # type: ignore[no-untyped-def]
    # The app's one clock (app/clock.py) reads this controlled one: services, engines and pages agree.
    app = create_app(settings, engine=engine, clock=AppClock(lambda: clock.now))
    app.config.update(TESTING=True)
    return app


def deliver_all(store: Any, sink: SmtpSink) -> list[Received]:
    """Run the real outbox delivery against the local SMTP server until nothing is due; the new messages."""
    before = len(sink.messages)
    with SmtpSender(SmtpConfig(host=sink.host, port=sink.port)) as sender:
        while deliver(store, sender, "La bonne alternance <ne-pas-repondre@lba.test>", "test-worker",
                      OutboxPolicy())["sent"]:
            pass
    return sink.messages[before:]
