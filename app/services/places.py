"""Turn an INSEE code or a postal code into a point, through the communes gazetteer."""
from __future__ import annotations

from dataclasses import dataclass

from app.referentials import Communes


@dataclass(frozen=True)
class ResolvedPlace:
    """A search centre and what it came from."""

    latitude: float
    longitude: float
    label: str
    insee: str = ""


class UnknownPlace(LookupError):
    """No commune has that code; `field` names the parameter to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def resolve_place(communes: Communes, *, latitude: float | None = None, longitude: float | None = None,
                  insee: str | None = None, postcode: str | None = None) -> ResolvedPlace | None:
    """The point of the request, or None when it has no place (a nationwide search)."""
    if latitude is not None and longitude is not None:
        return ResolvedPlace(latitude, longitude, f"{latitude:.4f}, {longitude:.4f}")
    if insee:
        commune = communes.get(insee)
        if commune is None:
            raise UnknownPlace("insee", f"Aucune commune n'a le code INSEE {insee}.")
        return ResolvedPlace(commune.latitude, commune.longitude, commune.name, commune.insee)
    if postcode:
        found = communes.for_postcode(postcode)
        if not found:
            raise UnknownPlace("postcode", f"Aucune commune n'a le code postal {postcode}.")
        # Several communes share a postal code: the most populous one stands for the area.
        commune = found[0]
        return ResolvedPlace(commune.latitude, commune.longitude, f"{postcode} {commune.name}", commune.insee)
    return None
