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


#: Horizontal stacked bars: where the bars start (labels on their left), row pitch, bar thickness.
LABEL_WIDTH, ROW_HEIGHT, ROW_BAR, LEGEND_HEIGHT = 200, 24, 16, 28


@dataclass(frozen=True)
class Segment:
    """One series' part of a stacked row."""

    series: str
    value: int
    x: float
    width: float


@dataclass(frozen=True)
class StackedRow:
    """One labelled row of stacked segments, at height `y`."""

    label: str
    total: int
    y: float
    segments: list[Segment]


def stacked_rows(rows: list[tuple[str, list[int]]], series: list[str]) -> tuple[list[StackedRow], int]:
    """Rows of segments whose lengths add up proportionally to the largest row total; and the chart's height."""
    top = max((sum(values) for _, values in rows), default=0) or 1
    span = WIDTH - LABEL_WIDTH - 10
    out = []
    for index, (label, values) in enumerate(rows):
        x = float(LABEL_WIDTH)
        segments = []
        for name, value in zip(series, values):
            width = round(value / top * span, 1)
            segments.append(Segment(name, value, round(x, 1), width))
            x += width
        out.append(StackedRow(label, sum(values), LEGEND_HEIGHT + index * ROW_HEIGHT, segments))
    return out, LEGEND_HEIGHT + len(rows) * ROW_HEIGHT + 4
