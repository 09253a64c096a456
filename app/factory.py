"""The one app factory: settings, reference data, engine, blueprints and error handlers."""
from __future__ import annotations

import logging

from flask import Flask

from app.config import Settings
from app.api.access import register_access
from app.api.communes import init_app as init_communes
from app.errors import register_error_handlers
from app.metiers import init_app as init_metiers
from app.referentials import get_referentials
from app.search import build_engine
from app.search.contract import SearchEngine
from app.services.match import MatchService
from app.services.partners import KeyChecker
from app.services.ratelimit import RateLimiter
from app.store import get_store
from ranking import DEFAULT_WEIGHTS, load_weights


def create_app(settings: Settings | None = None, engine: SearchEngine | None = None) -> Flask:
    """Build the Flask app; tests pass their own settings or engine, production reads the environment."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Flask(__name__)
    app.json.ensure_ascii = False  # French labels stay readable in responses
    app.json.sort_keys = False
    app.extensions["lba.settings"] = settings
    app.extensions["lba.refs"] = get_referentials(settings.data_dir)
    app.extensions["lba.engine"] = engine or build_engine(settings)
    init_metiers(app)  # free text → ROME codes; sets the "lba.resolver" the match service uses
    init_communes(app)
    weights = load_weights(settings.ranking_weights) if settings.ranking_weights else DEFAULT_WEIGHTS
    app.extensions["lba.match"] = MatchService(app.extensions["lba.engine"], app.extensions["lba.refs"], weights,
                                               resolver=app.extensions.get("lba.resolver"))
    store = get_store(settings.database_url)
    app.extensions["lba.store"] = store
    register_access(app, KeyChecker(store), RateLimiter(settings.ratelimit_path), settings.anonymous_rate)

    from app.api.details import bp as details_bp
    from app.api.health import bp as health_bp
    from app.api.match import bp as match_bp
    from app.api.v3 import bp as v3_bp
    from app.api.openapi import bp as openapi_bp
    from app.api.communes import bp as communes_bp
    from app.api.metiers import bp as metiers_bp
    app.register_blueprint(health_bp)
    app.register_blueprint(match_bp)
    app.register_blueprint(details_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(v3_bp)
    app.register_blueprint(metiers_bp)
    app.register_blueprint(communes_bp)
    from app.web import init_app as init_web
    init_web(app)  # the site's pages, the widget, their headers and French error pages
    register_error_handlers(app)
    return app
