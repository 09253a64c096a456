"""POST /api/v2/application: a body generated from the public OpenAPI schema is accepted unchanged.

Bodies come from schemathesis' generator (hypothesis) run on the public document's own operation.
"""
from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from app.config import Settings
from app.store import applications, outbox, write_tx
from tests.api.applications_setup import COMPANY_SIRET, app_env, pdf_bytes  # noqa: F401

PUBLIC = Path(Settings.from_env().data_dir) / "samples" / "lba_openapi_2026.json"
CV = "data:application/pdf;base64," + base64.b64encode(pdf_bytes()).decode()


def public_schema() -> dict:
    spec = json.loads(PUBLIC.read_text(encoding="utf-8"))
    return spec["paths"]["/v2/application"]["post"]["requestBody"]["content"]["application/json"]["schema"]


def generated_cases():  # type: ignore[no-untyped-def]
    """Bodies of the public schema; only values the public service also checks beyond the schema are pinned
    (a real PDF behind the data URL, an existing recipient, a valid phone and a real e-mail address)."""
    schema = copy.deepcopy(public_schema())
    properties = schema["properties"]
    properties["recipient_id"] = {"const": f"companies_{COMPANY_SIRET}"}
    properties["applicant_attachment_content"] = {"const": CV}
    properties["applicant_attachment_name"] = {"type": "string", "pattern": r"^[a-z]{1,20}\.(pdf|PDF)$"}
    properties["applicant_phone"] = {"type": "string", "pattern": r"^0[67][0-9]{8}$"}
    properties["applicant_email"] = {"type": "string", "pattern": r"^[a-z]{1,12}\.[a-z]{1,12}@exemple\.fr$"}
    for name in ("applicant_first_name", "applicant_last_name"):
        properties[name] = {**properties[name], "pattern": r"^[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ' -]{0,49}$"}
    spec = json.loads(PUBLIC.read_text(encoding="utf-8"))
    operation = copy.deepcopy(spec["paths"]["/v2/application"]["post"])
    operation["requestBody"]["content"]["application/json"]["schema"] = schema
    operation.pop("security", None)
    document = {"openapi": spec["openapi"], "info": spec["info"], "paths": {"/api/v2/application": {"post": operation}}}
    [result] = list(schemathesis.openapi.from_dict(document).get_all_operations())
    return result.ok().as_strategy()


def test_a_body_generated_from_the_public_schema_is_accepted(app_env) -> None:
    import jsonschema

    client = app_env.test_client()
    store = app_env.extensions["lba.store"]
    public = public_schema()
    seen = []

    @given(case=generated_cases())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def post(case) -> None:  # type: ignore[no-untyped-def]
        body = case.body
        jsonschema.validate(body, public)  # the generated body really is a valid public request
        with write_tx(store) as conn:  # each example starts below the per-target cap
            conn.execute(sa.delete(outbox))
            conn.execute(sa.delete(applications))
        answer = client.post("/api/v2/application", json=body)
        assert answer.status_code == 202, (body, answer.get_json())
        assert set(answer.get_json()) == {"id"}
        seen.append(answer.get_json()["id"])

    post()
    assert len(seen) >= 10


def test_v2_refuses_unknown_fields_and_recipients(app_env) -> None:
    client = app_env.test_client()
    body = {"applicant_first_name": "Léa", "applicant_last_name": "Dupont", "applicant_email": "lea@example.org",
            "applicant_phone": "0612345678", "applicant_attachment_name": "cv.pdf",
            "applicant_attachment_content": CV, "recipient_id": f"companies_{COMPANY_SIRET}"}
    assert client.post("/api/v2/application", json={**body, "extra": 1}).status_code == 400
    assert client.post("/api/v2/application", json={**body, "recipient_id": "nowhere"}).status_code == 404
    accepted = client.post("/api/v2/application", json={**body, "recipient_id": "offers_francetravail-OK1",
                                                         "applicant_contract_start": ["2027-09-01"]})
    assert accepted.status_code == 202
    with app_env.extensions["lba.store"].connect() as conn:
        row = conn.execute(sa.select(applications)
                           .where(applications.c.id == accepted.get_json()["id"])).mappings().one()
    assert row["target_id"] == "francetravail-OK1" and row["extra"] == {"applicant_contract_start": ["2027-09-01"]}


def test_the_openapi_document_describes_the_application_endpoints(app_env) -> None:
    spec = app_env.test_client().get("/api/openapi.json").get_json()
    for path in ("/api/v1/applications", "/api/v1/applications/reply", "/api/v2/application"):
        assert "post" in spec["paths"][path], path
    v1 = spec["paths"]["/api/v1/applications"]["post"]
    assert {"202", "400", "409", "410", "413", "429"} <= set(v1["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in v1["parameters"])
    v2_body = spec["paths"]["/api/v2/application"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert v2_body  # the schema object (or its reference) of the public body
