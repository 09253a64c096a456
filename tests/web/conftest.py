"""Site fixtures: small demo data indexed in a temporary folder, the app on a real HTTP port, headless Chromium."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.config import ROOT, Settings
from app.factory import create_app
from app.search.embedded import EmbeddedEngine
from app.store import upgraded_store
from scripts.demo_index import ensure_demo_data, index_demo
from scripts.smtp_sink import SmtpSink
from tests import real_components

#: Where the browser tests save their screenshots (CI keeps this folder as an artifact).
SCREENSHOTS = Path(os.environ.get("LBA_SCREENSHOT_DIR") or ROOT / "var" / "screenshots")
CHROMIUM = os.environ.get("LBA_CHROMIUM", "/usr/bin/chromium")
#: A port nothing listens on: map tiles fail as they would offline, and the page must cope.
DEAD_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"
#: A search of the small demo data (seed 42) that finds all three kinds around Paris.
ROME, ROME_WORDS, CITY_WORDS, INSEE = "K2204", "agent de nettoyage", "Paris", "75056"


@pytest.fixture(scope="session")
def vendor_assets() -> None:
    """DSFR and Leaflet copied from node_modules (what `make test` does after `npm ci`)."""
    from scripts.build_assets import NODE_MODULES, build

    if not (NODE_MODULES / "@gouvfr" / "dsfr").is_dir():
        pytest.fail("node_modules is missing: run `npm ci --ignore-scripts` (make test does)")
    build()


@pytest.fixture(scope="session")
def web_settings(settings: Settings, refs, tmp_path_factory, vendor_assets) -> Settings:
    """Settings on a private store and index built from the small demo data."""
    folder = tmp_path_factory.mktemp("web")
    demo = ensure_demo_data(refs, folder / "demo", "small")
    engine = EmbeddedEngine(folder / "index")
    index_demo(engine, refs, demo)
    engine.close()
    upgraded_store(f"sqlite:///{folder / 'lba.sqlite'}")
    return replace(settings, index_dir=str(folder / "index"), database_url=f"sqlite:///{folder / 'lba.sqlite'}",
                   ratelimit_path=str(folder / "ratelimit.sqlite"), anonymous_rate=100000,
                   embedding_model="none", upload_dir=str(folder / "uploads"), map_tile_url=DEAD_TILES,
                   demo_scale="small", demo_dir=str(folder / "demo"))


@pytest.fixture(scope="session")
def web_app(web_settings: Settings):
    return create_app(web_settings)


@pytest.fixture
def client(web_app):
    return web_app.test_client()


@pytest.fixture(scope="session")
def live_server(web_app) -> Iterator[str]:
    """The app on a real HTTP port of 127.0.0.1 (threaded, like a browser expects)."""
    server = make_server("127.0.0.1", 0, web_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright; one that cannot start fails the tests (LBA_SKIP_BROWSER=1 skips)."""
    real_components.skip_if_opted_out("browser")  # the one rule: listed in the summary when skipped
    from playwright.sync_api import sync_playwright

    try:
        playwright = sync_playwright().start()
    except Exception as exc:  # noqa: BLE001 - any start failure is the same failure for us
        pytest.fail(f"Playwright could not start: {exc}")
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    except Exception as exc:  # noqa: BLE001
        playwright.stop()
        pytest.fail(f"Chromium could not start from {CHROMIUM}: {exc} (install Debian's chromium, or set "
                    f"LBA_SKIP_BROWSER=1 to skip the browser tests)")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(params=[360, 1280], ids=["360px", "1280px"])
def width(request) -> int:
    return request.param


@pytest.fixture
def page(chromium, width: int, live_server: str):
    """A fresh page at `width` px that records console errors (CSP violations included)."""
    context = chromium.new_context(viewport={"width": width, "height": 900 if width > 800 else 740},
                                   locale="fr-FR", base_url=live_server)
    page = context.new_page()
    page.console_errors = []

    def on_console(msg) -> None:
        # Map tiles are expected to fail here (DEAD_TILES), and a form with errors is answered 400 on
        # purpose; any other error, CSP violations included, counts.
        url = (msg.location or {}).get("url", "")
        if msg.type == "error" and "127.0.0.1:9/" not in url and url != page.url:
            page.console_errors.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
    context.close()


@pytest.fixture(scope="session")
def demo_targets(web_app) -> dict[str, str]:
    """Ids in the demo data the action tests need: a company taking e-mails, a formation taking callbacks."""
    match = web_app.extensions["lba.match"]
    answer = match.match({"romes": [ROME], "insee": INSEE, "radius": 60.0, "kinds": ["formation", "company"],
                          "page": 1, "page_size": 100, "sort": "relevance"})
    company = next(i for i in answer["items"] if i["kind"] == "company" and i["contact"]["has_email"])
    formation = next(i for i in answer["items"] if i["kind"] == "formation" and i["callback_eligible"])
    return {"company": company["id"], "formation": formation["id"]}


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real local SMTP server (aiosmtpd) the outbox delivers to."""
    with SmtpSink() as sink:
        yield sink


def deliver_outbox(app, sink: SmtpSink) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One pass of the outbox worker (what `lba worker` does) to the local SMTP server."""
    from app.services.mailer import SmtpConfig, SmtpSender
    from app.services.outbox import OutboxPolicy, deliver, worker_id

    with SmtpSender(SmtpConfig(host=sink.host, port=sink.port, mail_from="lba@lba.test")) as sender:
        return deliver(app.extensions["lba.store"], sender, "lba@lba.test", worker_id(),
                       OutboxPolicy(max_attempts=3, backoff_s=0), limit=100)


#: A minimal valid one-page PDF, as a CV.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture(scope="session")
def index_runs(web_app, web_settings: Settings, tmp_path_factory) -> dict:
    """The pipeline's three index jobs on the demo files, recorded in the app's store (the statistics read
    their breakdown there); they fill an index of their own, so the app's index is left as it is."""
    from indexers.job_settings import JobSettings
    from indexers.pipeline import run_job

    folder = tmp_path_factory.mktemp("runs-index")
    settings = replace(web_settings, index_dir=str(folder), demo=True)
    engine = EmbeddedEngine(folder)
    try:
        results = {job: run_job(job, settings=settings, job_settings=JobSettings.from_env(settings, {}),
                                store=web_app.extensions["lba.store"], engine=engine,
                                refs=web_app.extensions["lba.refs"])
                   for job in ("formations", "offers", "recruiters")}
    finally:
        engine.close()
    assert all(r.outcome == "success" for r in results.values()), {j: r.error for j, r in results.items()}
    web_app.extensions.pop("lba.statistics", None)  # figures computed before the runs are cached
    return results
