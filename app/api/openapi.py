"""The OpenAPI 3 document, generated from the marshmallow schemas, and a readable docs page."""
from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, render_template_string

from app.api.v3 import JobsSearchSchema, StringList
from app.schemas import CommaList, KindSearchSchema, MatchRequestSchema
from app.schemas_autocomplete import CommuneQuerySchema, MetierQuerySchema
from app.schemas_responses import (
    CommunesResponseSchema,
    ErrorSchema,
    HealthSchema,
    ItemSchema,
    MatchResponseSchema,
    MetiersResponseSchema,
    ResolveResponseSchema,
    V3SearchResponseSchema,
)

bp = Blueprint("openapi", __name__)

ERRORS = {
    "400": "Paramètres invalides : chaque paramètre fautif est listé dans `details`.",
    "401": "Clé d'API inconnue ou révoquée.",
    "414": "Chaîne de requête trop longue (plus de LBA_MAX_QUERY_BYTES octets, 6144 par défaut).",
    "429": "Trop de requêtes : réessayer après `Retry-After` secondes.",
    "431": "En-têtes trop volumineux (plus de 100 en-têtes, ou un en-tête de plus de 8190 octets).",
    "503": "Moteur de recherche indisponible.",
}


#: Size limits every API route answers in the JSON error shape (app/api/limits.py).
LIMIT_ERRORS = ("414", "431")
#: What OpenAPI 3.0 cannot say with query parameters alone: which combinations are required or exclusive.
#: Written as JSON Schema over the parameter names (the query string seen as an object), and in words.
MATCH_CONSTRAINTS = {
    "allOf": [
        {"anyOf": [{"required": ["romes"]}, {"required": ["q"]}]},
        {"not": {"anyOf": [{"required": ["latitude", "insee"]}, {"required": ["latitude", "postcode"]},
                           {"required": ["insee", "postcode"]}]}},
        {"dependentRequired": {"latitude": ["longitude"], "longitude": ["latitude"]}},
    ]}
MATCH_RULES = ("Indiquez `romes` ou `q` (au moins l'un des deux ; `romes` vide est refusé). Un seul lieu au plus : "
               "`latitude`+`longitude`, `insee` ou `postcode`. Règles formelles : `x-parameter-constraints`.")
V3_CONSTRAINTS = {
    "allOf": [
        # An empty value counts as absent (their null): a job needs a non-empty romes or rncp.
        {"anyOf": [{"required": ["romes"], "properties": {"romes": {"minLength": 1}}},
                   {"required": ["rncp"], "properties": {"rncp": {"minLength": 1}}},
                   {"required": ["latitude", "longitude"]}]},
        {"dependentRequired": {"latitude": ["longitude"], "longitude": ["latitude"]}},
    ]}
V3_RULES = ("`romes`, `rncp` et le lieu sont facultatifs comme dans le document public, mais il faut au moins "
            "l'un d'eux : sans métier (romes, rncp), tous les métiers sont cherchés autour du lieu ; un paramètre "
            "vide (`romes=`) vaut absent. Le rayon n'est jamais élargi. `elligibleHandicapFilter=true` → 400 "
            "(donnée indisponible). Règles formelles : `x-parameter-constraints`.")


def _error_responses(*codes: str) -> dict[str, Any]:
    codes = codes + tuple(code for code in LIMIT_ERRORS if code not in codes)
    return {code: {"description": ERRORS.get(code, "Erreur."), "content": {"application/json": {
        "schema": "ErrorSchema"}}} for code in codes}


def _search_operation(summary: str, schema: type, tag: str) -> dict[str, Any]:
    return {"get": {
        "summary": summary, "tags": [tag], "description": MATCH_RULES, "x-parameter-constraints": MATCH_CONSTRAINTS,
        "parameters": [{"in": "query", "schema": schema}],
        "responses": {"200": {"description": "Résultats classés.", "content": {"application/json": {
            "schema": "MatchResponseSchema"}}}, **_error_responses("400", "401", "429", "503")},
    }}


def _lookup_operation(summary: str, schema: type, response: str) -> dict[str, Any]:
    return {"get": {
        "summary": summary, "tags": ["saisie"], "parameters": [{"in": "query", "schema": schema}],
        "responses": {"200": {"description": "Suggestions.", "content": {"application/json": {
            "schema": response}}}, **_error_responses("400", "401", "429")},
    }}


def _detail_operation(summary: str, name: str, gone: bool = False) -> dict[str, Any]:
    codes = ("400", "401", "404", "429", "503") + (("410",) if gone else ())
    responses = {"200": {"description": "Le résultat.", "content": {"application/json": {"schema": "ItemSchema"}}},
                 **_error_responses(*codes)}
    if gone:
        responses["410"]["description"] = "Offre expirée, pourvue ou annulée."
    responses["404"]["description"] = "Identifiant inconnu."
    schema = {"type": "string", "pattern": r"^[0-9]{14}$"} if name == "siret" else {"type": "string"}
    return {"get": {"summary": summary, "tags": ["détails"], "responses": responses,
                    "parameters": [{"in": "path", "name": name, "required": True, "schema": schema}]}}


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of the routes this app serves."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title="La bonne alternance (Python)", version="1.0.0", openapi_version="3.0.3",
                   plugins=[plugin], info={"description": (
                       "Formations, offres d'apprentissage et entreprises susceptibles de recruter, près "
                       "d'un lieu, pour un métier. Clé d'API facultative dans l'en-tête `X-API-Key` ou, "
                       "comme le service public, `Authorization: Bearer <clé>` (limite par clé ; sans clé, "
                       "limite par adresse IP). Chaîne de requête : au plus 6144 octets (414) ; en-têtes : "
                       "au plus 100, de 8190 octets chacun (431) ; chiffres ASCII seulement dans les nombres.")})
    plugin.map_to_openapi_type(CommaList, "string", None)
    plugin.map_to_openapi_type(StringList, "string", None)
    for name, schema in (("ErrorSchema", ErrorSchema), ("ItemSchema", ItemSchema),
                         ("MatchResponseSchema", MatchResponseSchema), ("HealthSchema", HealthSchema),
                         ("V3SearchResponseSchema", V3SearchResponseSchema),
                         ("MetiersResponseSchema", MetiersResponseSchema),
                         ("ResolveResponseSchema", ResolveResponseSchema),
                         ("CommunesResponseSchema", CommunesResponseSchema)):
        spec.components.schema(name, schema=schema)
    spec.components.security_scheme("apiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "description": "La clé d'API en jeton Bearer (schéma du service "
                                                              "public)."})
    paths = {
        "/api/v1/match": _search_operation("Formations, offres et entreprises, classées ensemble.",
                                           MatchRequestSchema, "recherche"),
        "/api/v1/formations": _search_operation("Formations seulement.", KindSearchSchema, "recherche"),
        "/api/v1/offers": _search_operation("Offres seulement.", KindSearchSchema, "recherche"),
        "/api/v1/companies": _search_operation("Entreprises seulement.", KindSearchSchema, "recherche"),
        "/api/v1/formations/{formation_id}": _detail_operation("Une formation.", "formation_id"),
        "/api/v1/offers/{offer_id}": _detail_operation("Une offre.", "offer_id", gone=True),
        "/api/v1/companies/{siret}": _detail_operation("Une entreprise par SIRET.", "siret"),
        "/api/v3/jobs/search": {"get": {
            "summary": "Offres et entreprises au format de la recherche v3 du service public (compatibilité).",
            "tags": ["compatibilité"], "description": V3_RULES, "x-parameter-constraints": V3_CONSTRAINTS,
            "parameters": [{"in": "query", "schema": JobsSearchSchema}],
            "responses": {"200": {"description": "`jobs`, `recruiters`, `warnings`.", "content": {
                "application/json": {"schema": "V3SearchResponseSchema"}}},
                **_error_responses("400", "401", "429", "503")}}},
        "/api/v1/metiers": _lookup_operation("Suggestions de métiers (appellations) pour un texte saisi.",
                                             MetierQuerySchema, "MetiersResponseSchema"),
        "/api/v1/metiers/resolve": _lookup_operation("Codes ROME que désigne un texte libre, du plus probable "
                                                     "au moins probable.", MetierQuerySchema,
                                                     "ResolveResponseSchema"),
        "/api/v1/communes": _lookup_operation("Suggestions de communes (nom, code postal, code INSEE).",
                                              CommuneQuerySchema, "CommunesResponseSchema"),
        "/healthz": {"get": {"summary": "État du service.", "tags": ["service"], "responses": {
            "200": {"description": "Service prêt.", "content": {"application/json": {"schema": "HealthSchema"}}},
            "503": {"description": "Aucun index publié ou moteur indisponible.",
                    "content": {"application/json": {"schema": "HealthSchema"}}}}}},
    }
    for extra in app.extensions.get("lba.openapi_paths", []):
        paths.update(extra())
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path.startswith("/api/") and method == "get":  # every read answers the size limits the same way
                for code, response in _error_responses(*LIMIT_ERRORS).items():
                    operation.setdefault("responses", {}).setdefault(code, response)
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/api/openapi.json")
def openapi_json():
    """The OpenAPI document."""
    if "lba.openapi" not in current_app.extensions:
        current_app.extensions["lba.openapi"] = build_spec(current_app)
    return current_app.extensions["lba.openapi"]


DOCS_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ spec.info.title }} — API</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1e1e1e}
h2{border-top:1px solid #ddd;padding-top:1rem}code{background:#f3f3f3;padding:0 .2rem}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
.get{background:#0a6;color:#fff;padding:.1rem .4rem;border-radius:.2rem;font-weight:bold}
</style></head><body>
<h1>{{ spec.info.title }}</h1><p>{{ spec.info.description }}</p>
<p>Document OpenAPI : <a href="/api/openapi.json"><code>/api/openapi.json</code></a>. Erreurs :
<code>{"error": {"code", "message", "details"}}</code>.</p>
{% for path, ops in spec.paths.items() %}{% for method, op in ops.items() %}
<h2><span class="get">{{ method|upper }}</span> <code>{{ path }}</code></h2><p>{{ op.summary }}</p>
{% if op.parameters %}<table><tr><th>paramètre</th><th>où</th><th>type</th><th>règle</th></tr>
{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code>{% if p.required %} (obligatoire){% endif %}</td>
<td>{{ p['in'] }}</td><td>{{ p.schema.type }}</td><td>{{ describe(p.schema) }}</td></tr>{% endfor %}</table>{% endif %}
<p>Réponses : {% for code, r in op.responses.items() %}<code>{{ code }}</code> {{ r.description }}{#
#}{% if not loop.last %} · {% endif %}{% endfor %}</p>
{% endfor %}{% endfor %}
</body></html>"""


def _describe(schema: dict[str, Any]) -> str:
    rules = []
    for key, label in (("enum", "valeurs"), ("minimum", "min"), ("maximum", "max"), ("default", "défaut"),
                       ("maxLength", "longueur max")):
        if key in schema:
            value = schema[key]
            rules.append(f"{label} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    return " ; ".join(rules)


@bp.get("/api/docs")
def docs_page():
    """A readable page listing every endpoint, parameter and response, from the OpenAPI document."""
    spec = openapi_json()
    return render_template_string(DOCS_PAGE, spec=spec, describe=_describe)
