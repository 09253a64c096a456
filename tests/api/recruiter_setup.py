"""A served app for the recruiter side: a real store, a published engine (embedded or OpenSearch), signed-in clients."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.clock import FixedClock
from app.factory import create_app
from app.search.contract import KINDS, SearchEngine
from app.search.embedded import EmbeddedEngine
from app.store import get_store, recruiter_accounts
from mappings.common import Place
from mappings.formation import Formation, to_document as formation_document

LYON = Place(latitude=45.764, longitude=4.8357, city="Lyon", postcode="69001", insee="69123", department="69")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def offer_body(**overrides: Any) -> dict[str, Any]:
    """A valid offer as the form's script sends it."""
    body: dict[str, Any] = {
        "appellation": "Boulanger / Boulangère", "appellation_code": "11573", "rome": "D1102",
        "contract_types": ["apprentissage"], "diploma_level": "3", "start_asap": True, "duration_months": 24,
        "positions": 1, "rhythm": "2 semaines en entreprise, 1 semaine au CFA",
        "description": "Vous apprendrez le pétrissage, le façonnage et la cuisson du pain au levain.",
        "questions": ["Avez-vous déjà travaillé de nuit ?"], "disability_friendly": True}
    body.update(overrides)
    return body


def formation(key: str, siret: str, name: str, email: str, latitude: float, longitude: float,
              romes: tuple[str, ...] = ("D1102",)) -> dict[str, Any]:
    """A formation document of a CFA training for `romes`."""
    return formation_document(Formation(
        key=key, title="CAP Boulanger", romes=list(romes), rome_index_codes=list(romes),
        place=Place(latitude=latitude, longitude=longitude, city="Lyon", postcode="69007", insee="69387",
                    department="69"), diploma_level=3, centre_name=name, centre_siret=siret, contact_email=email))


FORMATIONS = [
    formation("F-NEAR", "19690000100011", "CFA des métiers de bouche", "contact@cfa-bouche.test", 45.75, 4.84),
    formation("F-NEAR-2", "19690000100011", "CFA des métiers de bouche", "contact@cfa-bouche.test", 45.70, 4.80),
    formation("F-MID", "19690000200012", "École du pain", "ecole@pain.test", 45.19, 5.72),  # Grenoble, ~95 km
    formation("F-NOMAIL", "19690000300013", "CFA sans adresse", "", 45.76, 4.83),
    formation("F-FAR", "19750000400014", "CFA de Paris", "cfa@paris.test", 48.85, 2.35),
    formation("F-OTHER", "19690000500015", "CFA informatique", "info@cfa.test", 45.76, 4.83, ("M1805",)),
]


def published_engine(kind: str, folder: Path, opensearch_url: str | None = None) -> SearchEngine:
    """An engine with every kind published (the offers index empty, the formations above)."""
    if kind == "embedded":
        engine: SearchEngine = EmbeddedEngine(folder)
    else:
        from tests.search.opensearch import new_engine
        assert opensearch_url
        engine = new_engine(opensearch_url)
    for name in KINDS:
        with engine.new_generation(name) as builder:
            builder.add(FORMATIONS if name == "formation" else [])
    return engine


def make_app(settings: Any, store_url: str, engine: SearchEngine, tmp_path: Path, clock: FixedClock | None = None):
    """The app on `store_url` and `engine`, with a test signing key and public URL."""
    app_settings = replace(settings, database_url=store_url, ratelimit_path=str(tmp_path / "rl.sqlite"),
                           anonymous_rate=100000, embedding_model="none", secret_key="test-key",
                           public_base_url="https://lba.test", outbox_max_attempts=3)
    app = create_app(app_settings, engine=engine, clock=clock)
    app.config.update(TESTING=True)
    return app


def add_account(store_url: str, email: str = "rh@fournil.test", status: str = "validated", kind: str = "entreprise",
                **values: Any) -> dict[str, Any]:
    """A recruiter account row, as the accounts service would have created it."""
    row = {"kind": kind, "email": email, "first_name": "Camille", "last_name": "Martin", "phone": "0478000000",
           "siret": "33333333300033", "company_name": "Fournil des Pentes", "address": "3 rue des Pentes",
           "postcode": "69001", "city": "Lyon", "insee": "69123", "latitude": LYON.latitude,
           "longitude": LYON.longitude, "naf": "10.71C", "naf_label": "Boulangerie et boulangerie-pâtisserie",
           "size": "10-19", "opco": "OPCO EP", "status": status, "status_reason": "", "is_admin": False,
           "session_version": 1, "created_at": NOW, "updated_at": NOW, **values}
    store = get_store(store_url)
    with store.begin() as conn:
        key = conn.execute(sa.insert(recruiter_accounts).values(**row)).inserted_primary_key
    assert key is not None
    return {**row, "id": int(key[0])}


def signed_in_client(app, account: dict[str, Any]):  # type: ignore[no-untyped-def]
    """A test client holding the session `recruiter_session.sign_in` writes, and a CSRF header when CSRF is on."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["account_id"] = account["id"]
        session["session_version"] = account["session_version"]
    if "csrf" in app.extensions:  # Flask-WTF's CSRFProtect (the accounts side): send the token as a header
        from flask_wtf.csrf import generate_csrf

        with app.test_request_context():
            token = generate_csrf()
            with client.session_transaction() as session:
                from flask import session as request_session
                session.update({k: v for k, v in request_session.items() if k.startswith("csrf")})
        client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return client
