"""The results page's model: a search form turned into a match request, answered by the match service."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from app.services.communes import CommuneSearch
from app.services.match import MatchService, NoJobForText, TextNotAvailable, UnknownRome
from app.services.places import UnknownPlace
from app.web.forms import KINDS

PAGE_SIZE = 20
#: Form kind names → the match service's.
KIND_NAMES = {"formations": "formation", "offers": "offer", "companies": "company"}
#: Search parameters a results URL keeps (the shareable state), in a stable order.
SHARED = ("metier", "romes", "lieu", "insee", "latitude", "longitude", "radius", "diploma", "contract", "kinds",
          "sort", "page", "caller", "scope")


class SearchRefused(ValueError):
    """The search cannot run as typed; `errors` maps form fields to French messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class ResultsPage:
    """Everything the results template shows."""

    form: dict[str, Any]
    answer: dict[str, Any]
    counts: dict[str, int]
    place_label: str
    pages: list[int | None] = field(default_factory=list)

    @property
    def items(self) -> list[dict[str, Any]]:
        """The ranked items of this page."""
        return self.answer["items"]

    def map_points(self) -> list[dict[str, Any]]:
        """The items of this page that have a position, for the map (plain data, no HTML)."""
        points = []
        for number, item in enumerate(self.items, start=1):
            place = item.get("place") or {}
            if place.get("latitude") is None or place.get("longitude") is None:
                continue
            points.append({"n": number, "kind": item["kind"], "id": item["id"], "title": item["title"],
                           "lat": place["latitude"], "lon": place["longitude"]})
        return points


def query_string(form: dict[str, Any], **changes: Any) -> str:
    """The query string of a search with some values changed; defaults are left out to keep URLs short."""
    values = {**form, **changes}
    pairs: list[tuple[str, Any]] = []
    for name in SHARED:
        value = values.get(name)
        if value in (None, "", []) or (name == "page" and value == 1) or (name == "sort" and value == "relevance"):
            continue
        if name == "kinds":
            if sorted(value) == sorted(KINDS):
                continue
            pairs += [("kinds", kind) for kind in value]
        else:
            pairs.append((name, value))
    return urlencode(pairs)


def page_numbers(page: int, pages: int) -> list[int | None]:
    """Pages to link: the first, the last, and two around the current one; None marks a gap."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int | None] = []
    for number in wanted:
        if out and number - (out[-1] or 0) > 1:
            out.append(None)
        out.append(number)
    return out


def _place(form: dict[str, Any], communes: CommuneSearch) -> tuple[dict[str, Any], str]:
    """The match service's place parameters and the label shown for them."""
    if form.get("latitude") is not None and form.get("longitude") is not None:
        return {"latitude": form["latitude"], "longitude": form["longitude"]}, form.get("lieu") or "Autour de moi"
    if form.get("insee"):
        return {"insee": form["insee"]}, form.get("lieu") or form["insee"]
    # Typed without choosing a suggestion (or without JavaScript): the best suggestion stands for it.
    found = communes.search(form["lieu"], 1)
    if not found:
        raise SearchRefused({"lieu": [f"Aucune commune ne correspond à « {form['lieu']} » : vérifiez "
                                      "l'orthographe ou indiquez un code postal."]})
    commune = found[0].commune
    form["insee"] = commune.insee
    return {"insee": commune.insee}, f"{commune.name} ({commune.department})"


def run_search(match: MatchService, communes: CommuneSearch, form: dict[str, Any]) -> ResultsPage:
    """Answer a loaded search form: one ranked page, and the counts of every kind for the filters."""
    place, label = _place(form, communes)
    params: dict[str, Any] = {
        **place, "radius": float(form["radius"]), "kinds": [KIND_NAMES[k] for k in form["kinds"]],
        "sort": form["sort"], "page": form["page"], "page_size": PAGE_SIZE, "explain": False,
    }
    if form.get("romes"):
        params["romes"] = [c for c in form["romes"].split(",") if c]
    else:
        params["q"] = form["metier"]
    for name in ("diploma", "contract"):
        if form.get(name) is not None:
            params[name] = form[name]
    try:
        answer = match.match(params)
        counts = dict(answer["totals"])
        if len(params["kinds"]) < len(KIND_NAMES):
            # Counts of the kinds filtered out, so each filter says what it would show.
            every = match.match({**params, "kinds": list(KIND_NAMES.values()), "page": 1, "page_size": 1})
            counts = dict(every["totals"])
    except UnknownRome:
        raise SearchRefused({"metier": ["Ce métier n'est plus dans le répertoire : choisissez-en un autre."]}) \
            from None
    except (NoJobForText, TextNotAvailable):
        raise SearchRefused({"metier": [f"Aucun métier ne correspond à « {form.get('metier', '')} » : précisez-le "
                                        "ou choisissez une suggestion."]}) from None
    except UnknownPlace as exc:
        raise SearchRefused({"lieu": [exc.message]}) from None
    if answer.get("radius_km") and answer["radius_km"] != params["radius"]:
        form["radius_shown"] = answer["radius_km"]
    pages = min(answer["pages"], 500)
    return ResultsPage(form=form, answer=answer, counts={k: counts.get(k, 0) for k in KINDS}, place_label=label,
                       pages=page_numbers(form["page"], pages) if pages > 1 else [])


def distance_label(km: float | None) -> str:
    """A distance as people say it: metres under 1 km, one decimal under 10 km, whole km beyond."""
    if km is None:
        return ""
    # A no-break space keeps the number and its unit on one line.
    if km < 1:
        return f"{max(10, int(math.floor(km * 100) * 10))}\u00a0m"
    if km < 10:
        return f"{km:.1f}\u00a0km".replace(".", ",")
    return f"{km:.0f}\u00a0km"
