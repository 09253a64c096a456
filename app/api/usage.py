"""POST /api/v1/usage/clicks: the result pages' click beacon (a kind and a position, nothing about who)."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from marshmallow import Schema, fields, validate

from app.errors import load_json_object
from app.services.usage import KINDS, MAX_POSITION, UsageCounters

bp = Blueprint("usage", __name__, url_prefix="/api/v1/usage")


class ClickSchema(Schema):
    """One click on a result of our result pages."""

    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    position = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10 * MAX_POSITION))
    surface = fields.String(load_default="site", validate=validate.OneOf(("site", "widget")))


_click = ClickSchema()


def get_usage() -> UsageCounters:
    """The usage counters of the running app."""
    return current_app.extensions["lba.usage"]


@bp.post("/clicks")
def record_click():
    """Count one click on the result at `position` of kind `kind`; 204, or the one 400 error shape."""
    data = load_json_object(_click, request.get_json(silent=True, force=True))
    get_usage().record("click", data["surface"], data["kind"], data["position"])
    return "", 204
