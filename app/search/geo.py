"""Great-circle distance through unit vectors, and the latitude/longitude extent of a search circle.

Distances go through the squared chord between two unit vectors: it is plain arithmetic, so the
embedded engine computes it in SQL with the very same operations as Python here (bit-identical
results, which the brute-force correctness test relies on), and it orders points exactly as the
great-circle distance does.
"""
from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius: the figure geopy's great_circle uses too.
KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180.0


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    """The point on the unit sphere of a WGS84 latitude/longitude (treated as spherical)."""
    phi = math.radians(lat)
    lam = math.radians(lon)
    cos_phi = math.cos(phi)
    return cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi)


def chord2(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """Squared straight-line distance between two unit vectors (the SQL side writes the same sum)."""
    dx = a[0] - b[0]
    dy = a[1] - b[1]
    dz = a[2] - b[2]
    return dx * dx + dy * dy + dz * dz


def km_from_chord2(c2: float) -> float:
    """Great-circle distance in km for a squared chord; monotonic, so chord order is distance order."""
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(c2) / 2))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points."""
    return km_from_chord2(chord2(unit_vector(lat1, lon1), unit_vector(lat2, lon2)))


def max_chord2(radius_km: float) -> float:
    """The largest squared chord whose distance is ≤ `radius_km`, exactly, in floating point.

    Filtering on `chord2 <= max_chord2(r)` in SQL then keeps the same points as `distance_km <= r`.
    """
    if radius_km >= math.pi * EARTH_RADIUS_KM:
        return 4.0
    c2 = (2 * math.sin(radius_km / (2 * EARTH_RADIUS_KM))) ** 2
    while km_from_chord2(c2) > radius_km:
        c2 = math.nextafter(c2, 0.0)
    while c2 < 4.0 and km_from_chord2(math.nextafter(c2, 4.0)) <= radius_km:
        c2 = math.nextafter(c2, 4.0)
    return c2


def lat_span(radius_km: float) -> float:
    """Degrees of latitude covered by `radius_km` north or south of a point."""
    return radius_km / KM_PER_DEGREE_LAT


def lon_half_width(lat_deg: float, radius_km: float, center_lat: float) -> float:
    """Half-width in degrees of longitude of the circle around a point at `center_lat` (≥ the true width).

    Returns 180 when the circle reaches a pole, meaning every longitude.
    """
    angular = radius_km / EARTH_RADIUS_KM
    cos_lat = math.cos(math.radians(center_lat))
    if cos_lat <= 1e-9:
        return 180.0
    # Widest extent of a spherical cap of angular radius r centred at latitude φ: asin(sin r / cos φ).
    ratio = math.sin(angular) / cos_lat
    if ratio >= 1.0:
        return 180.0
    return math.degrees(math.asin(ratio)) * 1.0001 + 1e-9
