"""Public statistics: the figures equal counts made here from the store and the index, page and JSON alike."""
from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from app.clock import FixedClock
from app.search.embedded import EmbeddedEngine
from app.services.statistics import StatisticsService, month_keys
from app.store import get_store
from app.store.applications import applications
from app.store.contact import callback_requests

NOW = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)


def application_row(created: datetime, answered: datetime | None) -> dict:
    return {"id": uuid.uuid4().hex, "created_at": created, "applicant_first_name": "A", "applicant_last_name": "B",
            "applicant_email": f"stats-{uuid.uuid4().hex}@example.org", "applicant_phone": "0600000000",
            "message": "", "answers": [], "extra": {}, "target_kind": "company", "target_id": "00000000000017",
            "target_siret": "00000000000017",
            "cv_name": "cv.pdf", "cv_type": "pdf", "cv_size": 10, "cv_sha256": "0" * 64,
            "intention": "interview" if answered else None, "intention_at": answered}


def callback_row(created: datetime, answered: datetime | None) -> dict:
    return {"id": uuid.uuid4().hex, "formation_id": "f1", "cfa_email": "stats-cfa@example.org",
            "applicant_type": "etudiant", "first_name": "A", "last_name": "B",
            "email": f"stats-{uuid.uuid4().hex}@example.org", "phone": "0600000000", "reasons": [], "message": "",
            "created_at": created, "answered_at": answered}


def fill(store: sa.Engine, seed: int, count: int = 60) -> None:
    """Rows spread over 15 months (some before the 12 shown), about half answered after 1 to 200 hours."""
    rng = random.Random(seed)
    with store.begin() as conn:
        for make, table in ((application_row, applications), (callback_row, callback_requests)):
            rows = []
            for _ in range(count):
                created = NOW - timedelta(days=rng.uniform(0, 450))
                answered = created + timedelta(hours=rng.uniform(1, 200)) if rng.random() < 0.5 else None
                rows.append(make(created, answered))
            conn.execute(table.insert(), rows)


def expected(store: sa.Engine) -> dict:
    """The figures counted here with SQL ranges on the store, not with the service's code."""
    months = month_keys(NOW)
    out: dict = {}
    with store.connect() as conn:
        for name, table, answered in (("applications", applications, applications.c.intention_at),
                                      ("callback_requests", callback_requests, callback_requests.c.answered_at)):
            per_month = {}
            for key in months:
                start = datetime(int(key[:4]), int(key[5:]), 1, tzinfo=timezone.utc)
                end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=timezone.utc)
                per_month[key] = conn.execute(sa.select(sa.func.count()).select_from(table).where(
                    table.c.created_at >= start, table.c.created_at < end)).scalar_one()
            total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            done = conn.execute(sa.select(sa.func.count()).select_from(table).where(answered.is_not(None))).scalar_one()
            delays = sorted(((a.replace(tzinfo=None) - c.replace(tzinfo=None)).total_seconds() / 3600) for c, a in
                            conn.execute(sa.select(table.c.created_at, answered).where(answered.is_not(None))))
            middle = len(delays) // 2
            median = delays[middle] if len(delays) % 2 else (delays[middle - 1] + delays[middle]) / 2
            out[name] = {"months": per_month, "requests": total, "answered": done, "median": round(median, 1)}
    return out


def test_statistics_equal_counts_made_from_the_store(store_url, tmp_path):
    store = get_store(store_url)
    fill(store, seed=7)
    engine = EmbeddedEngine(tmp_path / "index")
    clock = FixedClock(NOW)
    figures = StatisticsService(store, engine, clock.now).figures()
    want = expected(store)
    assert [m["month"] for m in figures["months"]] == month_keys(NOW) and month_keys(NOW)[-1] == "2026-12"
    for name in ("applications", "callback_requests"):
        assert {m["month"]: m[name] for m in figures["months"]} == want[name]["months"]
        assert sum(want[name]["months"].values()) > 0
    for name, key in (("applications", "application_answers"), ("callback_requests", "callback_answers")):
        got = figures[key]
        assert got["requests"] == want[name]["requests"] == 60
        assert got["answered"] == want[name]["answered"]
        assert got["answered_share"] == round(want[name]["answered"] / 60, 4)
        assert got["median_answer_hours"] == want[name]["median"]
    assert figures["searchable"] == {"formation": 0, "offer": 0, "company": 0}
    engine.close()


def test_figures_are_cached_a_few_minutes(store_url, tmp_path):
    store = get_store(store_url)
    engine = EmbeddedEngine(tmp_path / "index")
    clock = FixedClock(NOW)
    service = StatisticsService(store, engine, clock.now)
    assert service.figures()["application_answers"]["requests"] == 0
    with store.begin() as conn:
        conn.execute(applications.insert(), [application_row(NOW - timedelta(hours=1), None)])
    clock.set(NOW + timedelta(minutes=4))
    assert service.figures()["application_answers"]["requests"] == 0
    clock.set(NOW + timedelta(minutes=6))
    assert service.figures()["application_answers"]["requests"] == 1
    engine.close()


def test_the_page_and_the_json_show_the_store_and_index_counts(client, web_app):
    store = web_app.extensions["lba.store"]
    fill(store, seed=11, count=20)
    web_app.extensions.pop("lba.statistics", None)
    with store.connect() as conn:
        applications_total = conn.execute(sa.select(sa.func.count()).select_from(applications)).scalar_one()
    documents = {kind: s["documents"] for kind, s in web_app.extensions["lba.engine"].stats().items()}
    body = client.get("/api/v1/statistiques").get_json()
    assert body["searchable"] == documents and all(documents.values())
    assert body["application_answers"]["requests"] == applications_total
    # Nothing about a person: no name, e-mail, phone, id or SIRET anywhere in the answer.
    text = str(body)
    assert "example.org" not in text and "0600000000" not in text and "00000000000017" not in text
    page = client.get("/statistiques")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "example.org" not in html
    assert re.search(rf"<th scope=\"row\">Formations</th><td>{documents['formation']}</td>", html)
    # Each chart is an SVG image with a title, and a table beside gives its figures.
    assert html.count('<svg class="lba-chart" role="img"') == 3 + bool(body["searchable_breakdown"]["by_region"])
    assert re.search(r'<table id="candidatures-tableau">', html) and re.search(r'<table id="rappels-tableau">', html)
    rows = re.findall(r'<table id="candidatures-tableau">.*?</table>', html, re.S)[0]
    assert sum(int(v) for v in re.findall(r"<td>(\d+)</td>", rows)) == \
        sum(m["applications"] for m in body["months"])
    searches = re.findall(r'<table id="recherches-tableau">.*?</table>', html, re.S)[0]
    assert sum(int(v) for v in re.findall(r"<td>(\d+)</td>", searches)) == sum(m["searches"] for m in body["months"])
    assert client.post("/api/v1/statistiques").status_code == 405


def test_the_page_and_the_json_show_documents_by_source_and_region(client, web_app, index_runs):
    result = index_runs["formations"]
    web_app.extensions.pop("lba.statistics", None)
    body = client.get("/api/v1/statistiques").get_json()
    breakdown = body["searchable_breakdown"]
    sources = {(row["kind"], row["source"]): row["documents"] for row in breakdown["by_source"]}
    assert sources[("formation", "catalogue")] == result.indexed > 0
    assert sum(row["formation"] for row in breakdown["by_region"]) == result.indexed
    assert sources[("company", "recruteurs_lba")] == index_runs["recruiters"].indexed
    html = client.get("/statistiques").get_data(as_text=True)
    table = re.findall(r'<table id="par-source">.*?</table>', html, re.S)[0]
    assert re.search(rf"<th scope=\"row\">Catalogue des formations en apprentissage</th><td>{result.indexed}</td>",
                     table)
    # The regions chart is one more SVG image, its table beside it gives every figure of the JSON.
    assert html.count('<svg class="lba-chart" role="img"') == 4  # three monthly charts and the regions one
    regions = re.findall(r'<table id="regions-tableau">.*?</table>', html, re.S)[0]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>', regions)
    assert [(name.replace("&#39;", "'"), int(f), int(o), int(c)) for name, f, o, c in rows] == [
        (row["name"] or "Région non renseignée", row["formation"], row["offer"], row["company"])
        for row in breakdown["by_region"]]
    assert any(name == "Île-de-France" for name, *_ in rows)
