"""Marshmallow schemas of the autocomplete endpoints' query parameters (métiers, communes), in French."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from app.schemas import INTEGER, STRING, AsciiInteger

MAX_QUERY_CHARS = 200


class _AutocompleteSchema(Schema):
    """`q` (required, at most 200 characters; blank means no suggestion) and `limit`."""

    class Meta:
        unknown = EXCLUDE  # widgets add cache-busting or tracking parameters; they are not errors

    q = fields.String(required=True, validate=validate.Length(max=MAX_QUERY_CHARS,
                                                              error="Au plus {max} caractères."),
                      error_messages=STRING, metadata={"description": "Texte saisi, ex. « boulang »."})

    def load_args(self, args: Any) -> dict[str, Any]:
        """Load a request's query string; raises ValidationError listing every problem."""
        return self.load({key: args.get(key) for key in args})


class MetierQuerySchema(_AutocompleteSchema):
    """Query parameters of GET /api/v1/metiers and /api/v1/metiers/resolve."""

    limit = AsciiInteger(load_default=None, validate=validate.Range(1, 20, error="Entre {min} et {max}."),
                           error_messages=INTEGER)


class CommuneQuerySchema(_AutocompleteSchema):
    """Query parameters of GET /api/v1/communes."""

    limit = AsciiInteger(load_default=10, validate=validate.Range(1, 10, error="Entre {min} et {max}."),
                           error_messages=INTEGER)
