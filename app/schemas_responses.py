"""Marshmallow schemas of what the API answers; they document responses in the OpenAPI file."""
from __future__ import annotations

from marshmallow import Schema, fields


class ErrorBodySchema(Schema):
    """The inside of every error."""

    code = fields.String(required=True, metadata={"description": "Stable machine-readable code."})
    message = fields.String(required=True, metadata={"description": "Message in French."})
    details = fields.Raw(allow_none=True, metadata={"description": "Per-parameter messages, or context."})
    request_id = fields.String(metadata={"description": "Id of the request (X-Request-Id), found in the logs."})


class ErrorSchema(Schema):
    """`{"error": {"code", "message", "details"}}`: the one shape of every error."""

    error = fields.Nested(ErrorBodySchema, required=True)


class PlaceSchema(Schema):
    """Where a result is."""

    address = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    postcode = fields.String(allow_none=True)
    insee = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)


class OrganisationSchema(Schema):
    """The training centre or company behind a result."""

    name = fields.String()
    siret = fields.String()
    uai = fields.String()
    naf = fields.String()
    naf_label = fields.String()
    size = fields.String()
    opco = fields.String()
    website = fields.String()


class ComponentSchema(Schema):
    """One score component."""

    value = fields.Float(required=True)
    weight = fields.Float(required=True)
    contribution = fields.Float(required=True)
    input = fields.Raw(allow_none=True)


class ExplainSchema(Schema):
    """Every component of a score; contributions add up to the total."""

    total = fields.Float(required=True)
    components = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentSchema), required=True)
    weights_version = fields.String(metadata={"description": "Version (hash court) du fichier de poids utilisé."})


class ItemSchema(Schema):
    """One formation, offer or company; fields after `romes` depend on the kind."""

    kind = fields.String(required=True, metadata={"enum": ["formation", "offer", "company"]})
    id = fields.String(required=True)
    title = fields.String(required=True)
    organisation = fields.Nested(OrganisationSchema, required=True)
    place = fields.Nested(PlaceSchema, required=True)
    distance_km = fields.Float(allow_none=True, required=True)
    romes = fields.List(fields.String(), required=True)
    score = fields.Float()
    explain = fields.Nested(ExplainSchema)
    source = fields.String()
    appellation = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    diploma_level = fields.Integer(allow_none=True)
    diploma = fields.String(allow_none=True)
    rncp_code = fields.String(allow_none=True)
    rncp_label = fields.String(allow_none=True)
    cfd = fields.String(allow_none=True)
    start_dates = fields.List(fields.String())
    duration_days = fields.Integer(allow_none=True)
    distance_learning = fields.Boolean()
    callback_eligible = fields.Boolean()
    onisep_url = fields.String(allow_none=True)
    contract_types = fields.List(fields.String())
    start_date = fields.String(allow_none=True)
    duration_months = fields.Integer(allow_none=True)
    positions = fields.Integer(allow_none=True)
    status = fields.String()
    published_at = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True)
    application_count = fields.Integer()
    apply = fields.Dict()
    hiring_score = fields.Float(allow_none=True)
    predicted_hires = fields.Float(allow_none=True)
    contact = fields.Dict()
    rome_scores = fields.Dict(keys=fields.String(), values=fields.Float())


class LabelSchema(Schema):
    """A code with its label."""

    code = fields.String(required=True)
    label = fields.String(required=True)


class RomeLabelSchema(LabelSchema):
    """A ROME code the search used, with its label."""


class SearchPlaceSchema(Schema):
    """The centre of the search."""

    label = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    insee = fields.String(allow_none=True)


class WarningSchema(Schema):
    """Something the caller should know about the answer (e.g. a widened radius)."""

    code = fields.String(required=True)
    message = fields.String(required=True)


class MatchResponseSchema(Schema):
    """A page of ranked results with totals and facets over the whole result set."""

    items = fields.List(fields.Nested(ItemSchema), required=True)
    totals = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    total = fields.Integer(required=True)
    facets = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                         required=True)
    romes = fields.List(fields.Nested(RomeLabelSchema), required=True)
    place = fields.Nested(SearchPlaceSchema, allow_none=True, required=True)
    radius_km = fields.Float(allow_none=True, required=True)
    sort = fields.String(required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True)


class IndexStatsSchema(Schema):
    """One index as /healthz reports it."""

    generation = fields.String(allow_none=True, required=True)
    documents = fields.Integer(required=True)
    published_at = fields.String(allow_none=True, required=True)


class HealthSchema(Schema):
    """Service health."""

    status = fields.String(required=True)
    engine = fields.String(required=True)
    indexes = fields.Dict(keys=fields.String(), values=fields.Nested(IndexStatsSchema), required=True)


class V3SearchResponseSchema(Schema):
    """The public service's v3 job search shape (`jobs`, `recruiters`, `warnings`); items as they document."""

    jobs = fields.List(fields.Dict(), required=True)
    recruiters = fields.List(fields.Dict(), required=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True)


class MetierSuggestionSchema(Schema):
    """One job-title suggestion."""

    label = fields.String(required=True)
    appellation_code = fields.String(allow_none=True, required=True)
    rome = fields.String(required=True)
    parent = fields.String(required=True)
    score = fields.Float(required=True)


class LookupResponseSchema(Schema):
    """An answer to a typed text (autocomplete, resolution): the text first, as received."""

    query = fields.String(required=True)


class MetiersResponseSchema(LookupResponseSchema):
    """Job-title autocomplete."""

    metiers = fields.List(fields.Nested(MetierSuggestionSchema), required=True)


class ResolvedRomeSchema(Schema):
    """One ROME code family a free text means."""

    code = fields.String(required=True)
    parent = fields.String(required=True)
    label = fields.String(required=True)
    score = fields.Float(required=True)


class CommuneSchema(Schema):
    """What names a commune: its INSEE code, its name and its postal codes."""

    insee = fields.String(required=True)
    name = fields.String(required=True)
    postcodes = fields.List(fields.String(), required=True)


class TextPlaceSchema(CommuneSchema):
    """A commune named inside the text ("sur Lyon", "à Paris", a postal code)."""

    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    matched = fields.String(required=True, metadata={"description": "Les mots du texte qui nomment le lieu."})


class ResolveResponseSchema(LookupResponseSchema):
    """Free text resolved to ranked ROME codes, and the place the text names, if any."""

    romes = fields.List(fields.Nested(ResolvedRomeSchema), required=True)
    place = fields.Nested(TextPlaceSchema, allow_none=True, metadata={
        "description": "La commune nommée dans le texte, ou null."})


class DepartmentSchema(Schema):
    """A department."""

    code = fields.String(required=True)
    name = fields.String(required=True)


class CommuneSuggestionSchema(CommuneSchema):
    """One place suggestion."""

    department = fields.Nested(DepartmentSchema, required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    population = fields.Integer(allow_none=True)
    kind = fields.String()
    parent_insee = fields.String(allow_none=True)
    score = fields.Float()


class CommunesResponseSchema(LookupResponseSchema):
    """Place autocomplete."""

    communes = fields.List(fields.Nested(CommuneSuggestionSchema), required=True)
