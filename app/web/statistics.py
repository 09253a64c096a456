"""The public statistics page: what the service holds today and what it has done month by month."""
from __future__ import annotations

from flask import Blueprint, render_template

from app.services.statistics import get_statistics
from app.web.charts import BASELINE, HEIGHT, LABEL_WIDTH, ROW_BAR, WIDTH, bars, stacked_rows
from app.web.templating import MONTHS

bp = Blueprint("statistics", __name__, template_folder="templates")


@bp.get("/statistiques")
def statistics():
    """Searchable documents by kind, source and region, applications and callback requests per month, answer rates."""
    figures = get_statistics().figures()
    charts = {name: bars([(row["month"], row[name]) for row in figures["months"]])
              for name in ("searches", "applications", "callback_requests")}
    return render_template("statistics.html", figures=figures, charts=charts, month_label=month_label,
                           chart_size={"width": WIDTH, "height": HEIGHT, "baseline": BASELINE},
                           regions_chart=regions_chart(figures["searchable_breakdown"]["by_region"]),
                           source_label=source_label, kind_labels=KIND_LABELS)


#: What each kind is called on the page, in the order of the region chart's stacks.
KIND_LABELS = {"formation": "Formations", "offer": "Offres d'emploi", "company": "Entreprises susceptibles de recruter"}
#: Fill of each kind's segments: DSFR blues and a red, each at least 3:1 against white (WCAG 1.4.11).
KIND_COLOURS = {"formation": "#000091", "offer": "#6a6af4", "company": "#c9191e"}
#: Sources by name ("" and unknown sources show their code).
SOURCE_LABELS = {"catalogue": "Catalogue des formations en apprentissage", "france_travail": "France Travail",
                 "deposited": "Déposées sur le service par les recruteurs",
                 "recruteurs_lba": "Algorithme de La bonne alternance (entreprises qui recrutent habituellement)"}


def source_label(source: str) -> str:
    """The French name of a source."""
    return SOURCE_LABELS.get(source, source or "Source non renseignée")


def regions_chart(by_region: list[dict]) -> dict:
    """The stacked bars of documents per region (one stack per kind) and the geometry the template needs."""
    rows, height = stacked_rows([(row["name"] or "Région non renseignée", [row[kind] for kind in KIND_LABELS])
                                 for row in by_region], list(KIND_LABELS))
    return {"rows": rows, "height": height, "label_width": LABEL_WIDTH, "bar": ROW_BAR, "width": WIDTH,
            "colours": KIND_COLOURS}


def month_label(key: str) -> str:
    """"2026-09" → "septembre 2026"."""
    return f"{MONTHS[int(key[5:]) - 1]} {key[:4]}"
