"""HTTP blueprints: each handler validates with a schema, calls one service, returns JSON."""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import ValidationError

from app.errors import invalid_parameters


def load_query(schema: Any) -> dict[str, Any]:
    """The request's query string loaded by `schema`; a 400 listing every invalid parameter otherwise."""
    try:
        return schema.load_args(request.args)
    except ValidationError as exc:
        raise invalid_parameters(exc.normalized_messages()) from None
