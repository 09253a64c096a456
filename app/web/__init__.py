"""The site for young people and the partner widget: server-rendered pages with DSFR, in French."""
from __future__ import annotations

from flask import Flask

from app.web.assets import Assets
from app.web.errors import register_page_errors
from app.web.security import register_page_headers

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Register the pages, the widget, their static files, headers and the French error pages."""
    from app.services.recruiter_accounts import build_account_service
    from app.web.guidance import bp as guidance_bp
    from app.web.recruiter_accounts import bp as recruiter_accounts_bp
    from app.web.recruiter_offers import bp as recruiter_offers_bp
    from app.web.seo import bp as seo_bp
    from app.web.statistics import bp as statistics_bp
    from app.web.views import bp as pages_bp
    from app.web.widget import bp as widget_bp

    app.extensions["lba.web.assets"] = Assets.load()
    app.register_blueprint(pages_bp)
    app.register_blueprint(widget_bp)
    app.register_blueprint(seo_bp)
    app.register_blueprint(statistics_bp)
    app.register_blueprint(guidance_bp)
    app.extensions["lba.accounts"] = build_account_service(app)  # the recruiter accounts (sign-in, validation)
    app.register_blueprint(recruiter_accounts_bp)
    app.register_blueprint(recruiter_offers_bp)  # /espace-pro: dashboard, offer form, CFAs, e-mailed links
    from app.web.ranking_admin import bp as ranking_admin_bp
    app.register_blueprint(ranking_admin_bp)  # /espace-pro/admin/classement: the ranking lab's explain page
    register_page_headers(app)
    register_page_errors(app)
