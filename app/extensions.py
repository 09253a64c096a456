"""Accessors for what the app factory attaches to the Flask app: settings, referentials, engine."""
from __future__ import annotations

from flask import current_app

from app.config import Settings
from app.referentials import Referentials
from app.search.contract import SearchEngine
from app.services.certifications import Certifications


def get_settings() -> Settings:
    """Settings of the running app."""
    return current_app.extensions["lba.settings"]


def get_refs() -> Referentials:
    """Reference data of the running app."""
    return current_app.extensions["lba.refs"]


def get_engine() -> SearchEngine:
    """Search engine of the running app."""
    return current_app.extensions["lba.engine"]


def get_certifications() -> Certifications:
    """RNCP → ROME table of the running app (built from the formation index)."""
    return current_app.extensions["lba.certifications"]
