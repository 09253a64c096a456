"""An app on a real store (SQLite or PostgreSQL) and a small engine whose offers and companies take applications."""
from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.factory import create_app
from app.search.embedded import EmbeddedEngine
from app.services.deposited_offers import index_deposited_offer, save_deposited_offer
from mappings.common import Place
from mappings.company import Company, to_document as company_document
from mappings.offer import Offer, to_document as offer_document

RECRUITER = "rh@garage-lyon.test"
COMPANY_EMAIL = "contact@boulangerie.test"
DEPOSIT_EMAIL = "jobs@depot.test"
SIRET = "11111111100011"
COMPANY_SIRET = "22222222200022"
LYON = Place(latitude=45.764, longitude=4.8357, city="Lyon", postcode="69001", insee="69123", department="69")


def _iso(delta_days: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=delta_days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _offer(source_id: str, email: str = RECRUITER, status: str = "active", expires: float = 30) -> dict:
    return offer_document(Offer(
        source="francetravail", source_id=source_id, title="Mécanicien automobile en alternance", romes=["I1604"],
        rome_index_codes=["I1604"], place=LYON, published_at=_iso(-2), expires_at=_iso(expires),
        contract_types=["apprentissage"], company_name="Garage du Rhône", company_siret=SIRET, status=status,
        apply_email=email))


def build_engine(folder: Path) -> EmbeddedEngine:
    engine = EmbeddedEngine(folder)
    with engine.new_generation("offer") as builder:
        builder.add([_offer("OK1"), _offer("OK2"), _offer("EXPIRED", expires=-1), _offer("FILLED", status="filled"),
                     _offer("CANCELLED", status="cancelled"), _offer("NOMAIL", email="")])
    with engine.new_generation("company") as builder:
        builder.add([company_document(Company(siret=COMPANY_SIRET, name="Boulangerie Martin", place=LYON,
                                              rome_scores={"D1102": 0.9}, rome_index_codes=["D1102"],
                                              email=COMPANY_EMAIL))])
    with engine.new_generation("formation") as builder:
        builder.add([])
    return engine


def deposit(store, engine, refs) -> int:  # type: ignore[no-untyped-def]
    """A deposited offer, saved and indexed like the deposit flow does."""
    now = datetime.now(timezone.utc)
    offer_id = save_deposited_offer(store, {
        "title": "Boulanger en alternance", "romes": ["D1102"], "contract_types": ["apprentissage"],
        "latitude": LYON.latitude, "longitude": LYON.longitude, "city": "Lyon", "postcode": "69001",
        "company_name": "Fournil des Pentes", "company_siret": "33333333300033", "apply_email": DEPOSIT_EMAIL,
        "status": "active", "expires_at": now + timedelta(days=30)})
    import sqlalchemy as sa

    from app.store import deposited_offers
    with store.connect() as conn:
        row = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id == offer_id)).mappings().one()
    assert index_deposited_offer(engine, dict(row), refs) == "indexed"
    return offer_id


@pytest.fixture()
def app_env(store_url, settings, tmp_path):  # type: ignore[no-untyped-def]
    engine = build_engine(tmp_path / "index")
    app_settings = replace(settings, database_url=store_url, ratelimit_path=str(tmp_path / "rl.sqlite"),
                           anonymous_rate=100000, embedding_model="none", secret_key="test-key",
                           public_base_url="https://lba.test", outbox_max_attempts=3)
    app = create_app(app_settings, engine=engine)
    app.config.update(TESTING=True)
    yield app
    engine.close()


def pdf_bytes(size: int = 0) -> bytes:
    body = b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\n"
    return body + b"%" + b"x" * max(size - len(body) - 8, 0) + b"\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def application_body(**overrides) -> dict:  # type: ignore[no-untyped-def]
    body = {"first_name": "Léa", "last_name": "Dupont", "email": "lea.dupont@example.org", "phone": "06 12 34 56 78",
            "message": "Passionnée de mécanique, je cherche une alternance.", "offer_id": "francetravail-OK1",
            "cv": {"name": "CV Léa.pdf", "content": b64(pdf_bytes())}}
    body.update(overrides)
    return body
