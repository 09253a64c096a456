"""The public statistics page: what the service holds today and what it has done month by month."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.services.statistics import get_statistics
from app.web.charts import BASELINE, HEIGHT, WIDTH, bars
from app.web.templating import MONTHS

bp = Blueprint("statistics", __name__, template_folder="templates")


@bp.get("/statistiques")
def statistics():
    """Searchable documents by kind, applications and callback requests per month, answer rates."""
    figures = get_statistics().figures()
    charts = {name: bars([(row["month"], row[name]) for row in figures["months"]])
              for name in ("applications", "callback_requests")}
    return render_template("statistics.html", figures=figures, charts=charts, month_label=month_label,
                           chart_size={"width": WIDTH, "height": HEIGHT, "baseline": BASELINE})


def month_label(key: str) -> str:
    """"2026-09" → "septembre 2026"."""
    return f"{MONTHS[int(key[5:]) - 1]} {key[:4]}"
