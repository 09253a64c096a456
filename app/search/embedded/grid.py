"""The latitude/longitude grid of the posting columns, and the search circle as cell ranges to scan."""
from __future__ import annotations

from dataclasses import dataclass

from app.search.contract import MatchQuery
from app.search.geo import lat_span, lon_half_width, max_chord2, unit_vector

#: Side of a grid cell in degrees. 0.1° (≈11 km north-south) keeps the scan of a 10 km circle to a
#: few cells while a 100 km circle needs only ~19 slices per ROME code (one per cell row).
CELL_DEG = 0.1
N_COLS = 3600  # 360° / CELL_DEG


def cell_of(lat: float, lon: float) -> int:
    """Grid cell of a point: rows of latitude, columns of longitude, row-major so a row is one range."""
    row = min(int((lat + 90.0) / CELL_DEG), int(180 / CELL_DEG) - 1)
    col = min(int((lon + 180.0) / CELL_DEG), N_COLS - 1)
    return row * N_COLS + col


def cell_ranges(lat: float, lon: float, radius_km: float) -> list[tuple[int, int, float, float, float, float]]:
    """(first cell, last cell, lat min, lat max, lon min, lon max) ranges covering the circle.

    One range per cell row (two where the circle crosses the antimeridian).
    """
    dlat = lat_span(radius_km) * (1 + 1e-9) + 1e-9  # a hair of margin against rounding at the edge
    lat_lo, lat_hi = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    half = lon_half_width(lat, radius_km, lat)
    if lat_lo <= -90.0 or lat_hi >= 90.0:
        half = 180.0
    if half >= 180.0:
        spans = [(-180.0, 180.0)]
    else:
        lo, hi = lon - half, lon + half
        if lo < -180.0:
            spans = [(lo + 360.0, 180.0), (-180.0, hi)]
        elif hi > 180.0:
            spans = [(lo, 180.0), (-180.0, hi - 360.0)]
        else:
            spans = [(lo, hi)]
    row_lo = int((lat_lo + 90.0) / CELL_DEG)
    row_hi = min(int((lat_hi + 90.0) / CELL_DEG), int(180 / CELL_DEG) - 1)
    ranges = []
    for row in range(row_lo, row_hi + 1):
        for span_lo, span_hi in spans:
            col_lo = max(0, int((span_lo + 180.0) / CELL_DEG))
            col_hi = min(N_COLS - 1, int((span_hi + 180.0) / CELL_DEG))
            ranges.append((row * N_COLS + col_lo, row * N_COLS + col_hi, lat_lo, lat_hi, span_lo, span_hi))
    return ranges


@dataclass(frozen=True)
class Area:
    """The search circle as every kind's scan needs it, computed once per query."""

    x0: float
    y0: float
    z0: float
    c2max: float
    spans: list[tuple[int, int]]  # (first cell, last cell) per cell row

    @classmethod
    def of(cls, query: MatchQuery) -> "Area | None":
        if not query.located:
            return None
        lat, lon = query.latitude, query.longitude
        spans = [(r[0], r[1]) for r in cell_ranges(lat, lon, query.radius_km)]  # type: ignore[arg-type]
        return cls(*unit_vector(lat, lon), max_chord2(query.radius_km), spans)  # type: ignore[arg-type]
