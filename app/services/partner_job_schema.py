"""The public document's v3 job schemas; a partner's body checked against them (French messages), made storable."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

#: Where the public service's OpenAPI document lies under Settings.data_dir (read, never copied).
CONTRACT_FILE = Path("samples") / "lba_openapi_2026.json"

# French messages for the JSON Schema keywords a body can break (jsonschema's validator names).
MESSAGES = {
    "required": "Champ obligatoire manquant : {missing}.",
    "type": "Type invalide (attendu : {expected}).",
    "pattern": "Format invalide (motif attendu : {pattern}).",
    "minLength": "Au moins {limit} caractères.",
    "minimum": "Doit être supérieur ou égal à {limit}.",
    "enum": "Valeurs possibles : {choices}.",
    "format": "Format {format} invalide.",
}
TYPE_NAMES = {"string": "texte", "integer": "entier", "number": "nombre", "boolean": "booléen", "array": "liste",
              "object": "objet", "null": "null"}


@dataclass(frozen=True)
class Contract:
    """The request and response schemas of the public document's v3 job operations, unchanged."""

    post_body: dict[str, Any]
    put_body: dict[str, Any]
    job: dict[str, Any]  # GET /v3/jobs/{id} 200: the v3 JobOffer read shape
    created: dict[str, Any]  # POST /v3/jobs 200
    export: dict[str, Any]  # GET /v3/jobs/export 200


def _json_schema(operation: Mapping[str, Any], status: str | None = None) -> dict[str, Any]:
    if status is None:
        return operation["requestBody"]["content"]["application/json"]["schema"]
    return operation["responses"][status]["content"]["application/json"]["schema"]


@lru_cache(maxsize=4)
def load_contract(data_dir: str) -> Contract:
    """The v3 job schemas of the public document under `data_dir` (no $ref in them: used as they are)."""
    document = json.loads((Path(data_dir) / CONTRACT_FILE).read_text(encoding="utf-8"))
    paths = document["paths"]
    return Contract(post_body=_json_schema(paths["/v3/jobs"]["post"]),
                    put_body=_json_schema(paths["/v3/jobs/{id}"]["put"]),
                    job=_json_schema(paths["/v3/jobs/{id}"]["get"], "200"),
                    created=_json_schema(paths["/v3/jobs"]["post"], "200"),
                    export=_json_schema(paths["/v3/jobs/export"]["get"], "200"))


def with_nullable_enums(schema: Any) -> Any:
    """A copy of `schema` where every enum whose type allows null accepts null (their generator's one slip).

    Their document writes a nullable enum as `type: [string, null]` with an enum lacking null, so a
    strict reader refuses null where the type allows it: for us `contract.remote`, which we answer
    null when the partner did not say (tests/api/test_v3.py makes the same single correction).
    """
    if isinstance(schema, dict):
        fixed = {key: with_nullable_enums(value) for key, value in schema.items()}
        types = schema.get("type")
        if "enum" in schema and isinstance(types, list) and "null" in types and None not in schema["enum"]:
            fixed["enum"] = [*schema["enum"], None]
        return fixed
    if isinstance(schema, list):
        return [with_nullable_enums(value) for value in schema]
    return schema


def _message(error: Any) -> str:
    kind = error.validator
    if kind == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return MESSAGES["required"].format(missing=", ".join(missing))
    if kind == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return MESSAGES["type"].format(expected=" ou ".join(TYPE_NAMES.get(t, t) for t in expected))  # type: ignore[misc]
    if kind == "enum":
        return MESSAGES["enum"].format(choices=", ".join(str(v) for v in error.validator_value))
    if kind in ("minLength", "minimum"):
        return MESSAGES[kind].format(limit=error.validator_value)
    if kind == "pattern":
        return MESSAGES["pattern"].format(pattern=error.validator_value)
    if kind == "format":
        return MESSAGES["format"].format(format=error.validator_value)
    return "Valeur invalide."


def validate_body(body: Any, schema: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every violation of the document's request schema, as {"offer.title": ["Au moins 3 caractères."]}."""
    if not isinstance(body, dict):
        return {"body": ["Le corps de la requête doit être un objet JSON."]}
    problems: dict[str, list[str]] = {}
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        field = ".".join(str(part) for part in error.absolute_path) or "body"
        problems.setdefault(field, []).append(_message(error))
    return problems


def clean_json(value: Any) -> Any:
    """`value` with every string storable anywhere: lone surrogates (valid JSON escapes, not text) become
    U+FFFD, and so do NUL characters (refused by PostgreSQL text): lengths the schema checked stay; keys alike."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {clean_json(key): clean_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    return value
