"""Great-circle distance and the latitude/longitude extent of a search circle."""
from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius: the figure geopy's great_circle uses too.
KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km between two WGS84 points."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def lat_span(radius_km: float) -> float:
    """Degrees of latitude covered by `radius_km` north or south of a point."""
    return radius_km / KM_PER_DEGREE_LAT


def lon_half_width(lat_deg: float, radius_km: float, center_lat: float) -> float:
    """Half-width in degrees of longitude of the circle at latitude `lat_deg` (≥ the true width).

    Returns 180 when the circle reaches a pole, meaning every longitude.
    """
    angular = radius_km / EARTH_RADIUS_KM
    cos_lat = math.cos(math.radians(lat_deg))
    if cos_lat <= 1e-9:
        return 180.0
    # Widest extent of a spherical cap of angular radius r at latitude φ: asin(sin r / cos φ).
    ratio = math.sin(angular) / cos_lat
    if ratio >= 1.0:
        return 180.0
    return math.degrees(math.asin(ratio)) * 1.0001 + 1e-9
