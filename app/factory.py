"""The one app factory: settings, reference data, engine, blueprints and error handlers."""
from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask

from app.api.access import register_access
from app.api.communes import init_app as init_communes
from app.api.limits import register_request_limits
from app.clock import Clock, init_app as init_clock
from app.config import DEV_PUBLIC_BASE_URL, Settings
from app.errors import register_error_handlers
from app.http_hygiene import configure_logging, init_http_hygiene
from app.metiers import init_app as init_metiers
from app.referentials import Referentials, get_referentials, load_referentials
from app.referentials.live import LiveReferentials
from app.search import build_engine
from app.search.contract import SearchEngine
from app.services.applications import ApplicationService
from app.services.certifications import Certifications
from app.services.live_weights import LiveWeights, reload_on_sighup
from app.services.match import MatchService
from app.services.partners import KeyChecker
from app.services.ratelimit import RateLimiter, storage_uri
from app.services.usage import UsageCounters
from app.store import get_store
from app.web.recruiter_session import configure_sessions


def create_app(settings: Settings | None = None, engine: SearchEngine | None = None,
               clock: Clock | None = None) -> Flask:
    """Build the Flask app; tests pass their own settings or engine, production reads the environment."""
    settings = settings or Settings.from_env()
    configure_logging()  # one JSON object per line, with the request id
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # French labels stay readable in responses
    app.json.sort_keys = False  # type: ignore[attr-defined]  # (Flask's DefaultJSONProvider has both)
    app.extensions["lba.settings"] = settings
    configure_sessions(app, settings)  # recruiters' signed session cookie (app/web/recruiter_session.py)
    app.extensions["lba.refs"] = get_referentials(settings.data_dir)
    clock = init_clock(app, clock)  # the one clock: engines, match service and detail pages share it
    app.extensions["lba.engine"] = engine or build_engine(settings, clock)
    init_metiers(app)  # free text → ROME codes; sets the "lba.resolver" the match service uses
    init_communes(app)
    weights = LiveWeights(settings.ranking_weights or None)
    app.extensions["lba.weights"] = weights
    app.extensions["lba.served_weights"] = weights.current
    app.extensions["lba.match_lock"] = threading.Lock()
    rebuild_match_service(app)
    weights.subscribe(lambda served: _use_weights(app, served))
    reload_on_sighup(weights)
    app.extensions["lba.certifications"] = Certifications(app.extensions["lba.engine"],
                                                          lambda: app.extensions["lba.refs"].rome.parents)
    live = LiveReferentials(settings.data_dir, load_referentials, current=app.extensions["lba.refs"])
    live.subscribe(lambda refs: _use_referentials(app, refs))
    app.extensions["lba.referentials"] = live  # other parts (métier index) subscribe to reloads here

    @app.before_request
    def _look_for_new_referentials() -> None:
        live.check()  # a realpath and a few stat calls, at most every few seconds; the reload runs aside
        weights.check()  # one stat call at most every few seconds; a changed file swaps the weights whole

    if settings.public_base_url == DEV_PUBLIC_BASE_URL and not settings.demo:
        logging.getLogger(__name__).warning("LBA_PUBLIC_BASE_URL is not set: links given out point to %s",
                                            DEV_PUBLIC_BASE_URL)
    store = get_store(settings.database_url)
    app.extensions["lba.store"] = store
    # Searches, clicks and applications per result position; written every few seconds and at worker exit.
    app.extensions["lba.usage"] = UsageCounters(store, clock.today, settings.usage_flush_seconds)
    init_http_hygiene(app, settings)  # before access: request id, CORS preflight, body limits, ProxyFix
    register_request_limits(app, settings.max_query_bytes)  # before access: a 414 costs no rate-limit write
    limiter = RateLimiter(storage_uri(settings.ratelimit_storage, settings.ratelimit_path), settings.ratelimit_window)
    register_access(app, KeyChecker(store), limiter, settings.anonymous_rate)
    app.extensions["lba.applications"] = ApplicationService(store, app.extensions["lba.engine"], settings,
                                                            refs=app.extensions["lba.refs"])

    from app.api.communes import bp as communes_bp
    from app.api.contact import bp as contact_bp
    from app.api.details import bp as details_bp
    from app.api.health import bp as health_bp
    from app.api.match import bp as match_bp
    from app.api.metiers import bp as metiers_bp
    from app.api.openapi import bp as openapi_bp
    from app.api.statistics import bp as statistics_api_bp
    from app.api.usage import bp as usage_bp
    from app.api.v3 import bp as v3_bp
    from app.api.v3_jobs import bp as v3_jobs_bp
    from app.pages_contact import bp as contact_pages_bp
    app.register_blueprint(health_bp)
    app.register_blueprint(statistics_api_bp)
    app.register_blueprint(match_bp)
    app.register_blueprint(details_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(v3_bp)
    app.register_blueprint(v3_jobs_bp)
    app.register_blueprint(metiers_bp)
    app.register_blueprint(communes_bp)
    app.register_blueprint(contact_bp)
    app.register_blueprint(usage_bp)
    app.register_blueprint(contact_pages_bp)
    from app.api.applications import bp as applications_bp
    from app.api.v2 import bp as v2_bp
    app.register_blueprint(applications_bp)
    app.register_blueprint(v2_bp)
    from app.api.applications import openapi_paths as applications_paths
    from app.api.v2 import openapi_paths as v2_paths
    from app.api.v3_jobs import openapi_paths as v3_jobs_paths
    app.extensions.setdefault("lba.openapi_paths", []).extend([applications_paths, v2_paths, v3_jobs_paths])
    _init_recruiter_offers(app, settings, store, clock)
    from app.web import init_app as init_web
    init_web(app)  # the site's pages, the widget, their headers and French error pages
    from app.web.csrf import init_csrf
    init_csrf(app)  # last: every form of every blueprint above is protected, the JSON APIs exempt by name
    register_error_handlers(app)
    return app


def _init_recruiter_offers(app: Flask, settings: Settings, store, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """The recruiter's offers and CFA delegation: services, API, OpenAPI paths, account-validation callback.

    `lba.on_validated` lists callables `(conn, account_row, now)` the accounts service runs inside its
    validation transaction; ours activates the pending offers and queues the CFA e-mails there, and
    the activated offers are indexed when that transaction's connection returns to the pool
    (RecruiterOffers.on_account_validated explains why that is after the commit).
    """
    from app.api.recruiter import bp as recruiter_api_bp, openapi_paths as recruiter_paths
    from app.services.delegations import Delegations
    from app.services.recruiter_offers import RecruiterOffers

    offers = RecruiterOffers(store, app.extensions["lba.engine"], lambda: app.extensions["lba.refs"], settings, clock)
    app.extensions["lba.recruiter_offers"] = offers
    app.extensions["lba.delegations"] = Delegations(store, app.extensions["lba.engine"], settings, clock,
                                                    offers.templates)
    app.extensions.setdefault("lba.on_validated", []).append(offers.on_account_validated)
    app.register_blueprint(recruiter_api_bp)
    app.extensions.setdefault("lba.openapi_paths", []).append(recruiter_paths)


def rebuild_match_service(app: Flask) -> MatchService:
    """Build the match service from what it is made of now (engine, referentials, résolveur, served weights).

    The one place the service is (re)built, under one lock: a referentials reload (its own thread) and a
    weights reload (a request's thread) landing together each rebuild from both latest parts, so neither
    overwrites the other's change with a copy of the service it read before (the read-modify-write race
    of two `replace(current, ...)`).
    """
    with app.extensions["lba.match_lock"]:
        served = app.extensions["lba.served_weights"]
        service = MatchService(app.extensions["lba.engine"], app.extensions["lba.refs"], served.weights,
                               resolver=app.extensions.get("lba.resolver"), today=app.extensions["lba.clock"].today,
                               weights_version=served.version)
        app.extensions["lba.match"] = service
        return service


def _use_referentials(app: Flask, refs: Referentials) -> None:
    """Point what the app derives from the referentials at a newly loaded version (LiveReferentials hook)."""
    app.extensions["lba.refs"] = refs
    init_metiers(app)  # the métier index of the new ROME version (built here, in the reload's thread)
    rebuild_match_service(app)
    init_communes(app)


def _use_weights(app: Flask, served: Any) -> None:
    """Serve newly loaded ranking weights (LiveWeights hook); the match service is swapped whole."""
    app.extensions["lba.served_weights"] = served
    rebuild_match_service(app)
