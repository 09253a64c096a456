"""Marshmallow schemas of GET /api/v1/statistiques: they document its answer in the OpenAPI file."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

KIND = fields.String(required=True, validate=validate.OneOf(["formation", "offer", "company"]))


class SearchableSchema(Schema):
    """Documents searchable today, per kind (what the published indexes hold)."""

    formation = fields.Integer(required=True)
    offer = fields.Integer(required=True)
    company = fields.Integer(required=True)


class CountedAtSchema(Schema):
    """When each kind's breakdown was counted: the end of its latest successful index run (null: never)."""

    formation = fields.DateTime(required=True, allow_none=True)
    offer = fields.DateTime(required=True, allow_none=True)
    company = fields.DateTime(required=True, allow_none=True)


class SourceCountSchema(Schema):
    """Searchable documents of one kind from one source."""

    kind = KIND
    source = fields.String(required=True, metadata={
        "description": "`france_travail`, `deposited` (déposées sur le service, comptées en continu), "
                       "`catalogue`, `recruteurs_lba`…"})
    documents = fields.Integer(required=True)


class RegionCountSchema(Schema):
    """Searchable documents of one region, per kind."""

    region = fields.String(required=True, metadata={"description": "Code INSEE de la région ; vide : lieu sans "
                                                                   "département connu."})
    name = fields.String(required=True)
    formation = fields.Integer(required=True)
    offer = fields.Integer(required=True)
    company = fields.Integer(required=True)


class BreakdownSchema(Schema):
    """Searchable documents by source and by region."""

    counted_at = fields.Nested(CountedAtSchema, required=True)
    by_source = fields.List(fields.Nested(SourceCountSchema), required=True)
    by_region = fields.List(fields.Nested(RegionCountSchema), required=True)


class MonthSchema(Schema):
    """One month's figures."""

    class Meta:
        unknown = INCLUDE  # more monthly series may be added; a client ignores those it does not know

    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))
    searches = fields.Integer(required=True, metadata={"description": "searches made (API, site and widget)"})
    applications = fields.Integer(required=True)
    callback_requests = fields.Integer(required=True)


class AnswersSchema(Schema):
    """Requests sent, how many were answered, the share and the median answer time."""

    requests = fields.Integer(required=True)
    answered = fields.Integer(required=True)
    answered_share = fields.Float(required=True, allow_none=True)
    median_answer_hours = fields.Float(required=True, allow_none=True)


class StatisticsSchema(Schema):
    """The public statistics: totals only, never about a person."""

    class Meta:
        unknown = INCLUDE  # new figures may be added; a client ignores those it does not know

    computed_at = fields.DateTime(required=True)
    searchable = fields.Nested(SearchableSchema, required=True)
    searchable_breakdown = fields.Nested(BreakdownSchema, required=True)
    months = fields.List(fields.Nested(MonthSchema), required=True)
    application_answers = fields.Nested(AnswersSchema, required=True)
    callback_answers = fields.Nested(AnswersSchema, required=True)
