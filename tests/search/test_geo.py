"""Great-circle distance and the cell ranges that cover a search circle."""
from __future__ import annotations

import math
import random

import pytest

from app.search.embedded import cell_of, cell_ranges
from app.search.geo import distance_km


@pytest.mark.parametrize("a, b, km", [
    ((48.8566, 2.3522), (45.7640, 4.8357), 391.5),  # Paris – Lyon
    ((48.8566, 2.3522), (48.8566, 2.3522), 0.0),
    ((16.2650, -61.5510), (14.6161, -61.0588), 190.8),  # Guadeloupe – Martinique
    ((0.0, 179.9), (0.0, -179.9), 22.24),  # across the antimeridian
])
def test_distance_km(a, b, km):
    assert distance_km(*a, *b) == pytest.approx(km, abs=0.5)


@pytest.mark.parametrize("center, radius", [
    ((48.85, 2.35), 10), ((41.9, 8.7), 200), ((-20.9, 55.5), 50), ((-13.3, -176.2), 200), ((89.5, 0.0), 100),
    ((4.9, -52.3), 1),
])
def test_cell_ranges_cover_every_point_of_the_circle(center, radius):
    rng = random.Random(1)
    ranges = cell_ranges(*center, radius)
    checked = 0
    for _ in range(5000):
        span = radius / 111.0 * 1.3
        lat = center[0] + rng.uniform(-span, span)
        lon = center[1] + rng.uniform(-span, span) / max(0.05, math.cos(math.radians(min(abs(lat), 89.9))))
        lon = (lon + 180) % 360 - 180
        if not -90 <= lat <= 90 or distance_km(*center, lat, lon) > radius:
            continue
        cell = cell_of(lat, lon)
        assert any(lo <= cell <= hi and a0 <= lat <= a1 and o0 <= lon <= o1
                   for lo, hi, a0, a1, o0, o1 in ranges), (lat, lon)
        checked += 1
    assert checked > 20


def test_distance_km_agrees_with_geopys_great_circle():
    # geopy (the design's distance library) is the reference; the engines keep this formula because
    # numpy, SQL and Painless compute it with the same operations (scripts/bench_distance.py).
    from geopy.distance import great_circle

    from app.search.geo import EARTH_RADIUS_KM

    rng = random.Random(3)
    for _ in range(2000):
        a = (rng.uniform(-60, 60), rng.uniform(-180, 180))
        b = (a[0] + rng.uniform(-2, 2), a[1] + rng.uniform(-2, 2))
        assert distance_km(*a, *b) == pytest.approx(great_circle(a, b, radius=EARTH_RADIUS_KM).km, rel=1e-9, abs=1e-9)
