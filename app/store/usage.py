"""Store table of the online ranking signal: daily counters of searches, impressions, clicks and applications."""
from __future__ import annotations

import sqlalchemy as sa

from app.store.base import metadata

# One row per day, event, surface, result kind and position: aggregate counts only, never who or which
# result, so the table holds no personal data and stays small (days × a few hundred rows).
usage_counters = sa.Table(
    "usage_counters", metadata,
    sa.Column("day", sa.Date, nullable=False),
    # search | impression | click | application | callback (app/services/usage.py, EVENTS)
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("surface", sa.String(10), nullable=False),  # api | site | widget
    # offer | company | formation; "" for searches (a search has no result kind)
    sa.Column("kind", sa.String(20), nullable=False),
    # 1-based rank of the result on its results page; 0 when unknown (a search, an application from the API)
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("day", "event", "surface", "kind", "position"),
)
