"""Bar charts drawn on the server as SVG geometry: the template draws the bars, a table beside gives the figures."""
from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, BASELINE = 640, 240, 200


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value and rectangle."""

    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


def bars(series: list[tuple[str, int]]) -> list[Bar]:
    """Bars of equal width across WIDTH, heights proportional to the largest value (a flat zero line if all 0)."""
    if not series:
        return []
    top = max(value for _, value in series) or 1
    step = WIDTH / len(series)
    return [Bar(label, value, round(i * step + step * 0.15, 1), round(BASELINE - value / top * (BASELINE - 20), 1),
                round(step * 0.7, 1), round(value / top * (BASELINE - 20), 1))
            for i, (label, value) in enumerate(series)]
