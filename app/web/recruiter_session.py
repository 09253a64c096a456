"""Recruiters' sessions: a signed cookie naming the account and its session version, checked on every request."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, session
from flask_wtf.csrf import generate_csrf

from app.config import Settings
from app.store import recruiter_accounts

#: Statuses that may hold a session: a pending account signs in to prepare offers (they wait for validation).
SIGNED_IN_STATUSES = ("pending", "validated")


def configure_sessions(app: Flask, settings: Settings) -> None:
    """Flask's signed-cookie session, hardened: Secure, HttpOnly, SameSite=Lax, bounded lifetime."""
    app.secret_key = settings.secret_key
    app.config.update(
        SESSION_COOKIE_NAME="lba_session",
        # Set the cookie only when the session changes. Flask's default re-sends a permanent session on
        # every answer, stylesheets and fonts included, each with the content it had when its request
        # began: an answer that started before the page that added the CSRF token, and ended after it,
        # put the older cookie back and the next form was refused. Assets with Set-Cookie are not cacheable
        # either. The lifetime therefore counts from the sign-in: a bound, not a sliding window.
        SESSION_REFRESH_EACH_REQUEST=False,
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )


def sign_in(account: Mapping[str, Any]) -> None:
    """Open a session for `account` (a recruiter_accounts row); any earlier session content is dropped."""
    session.clear()
    session.permanent = True
    session["account_id"] = int(account["id"])
    session["session_version"] = int(account["session_version"])
    # The CSRF secret is created now, in the answer that opens the session, rather than by whichever
    # page with a form comes first: two tabs opened at once would each create one, and one tab's forms
    # would then be refused. (Flask-WTF caches the signed token in g: drop any from before the clear.)
    g.pop("csrf_token", None)
    generate_csrf()


def sign_out() -> None:
    """End this browser's session."""
    session.clear()
    g.pop("lba_account", None)


def current_account() -> dict[str, Any] | None:
    """The signed-in account's row, or None (no session, account gone, refused/disabled, or signed out elsewhere).

    Read once per request: the row is the truth, so refusing an account or bumping its
    session_version ends its sessions at the next request.
    """
    if "lba_account" in g:
        return g.lba_account
    account = None
    account_id = session.get("account_id")
    if isinstance(account_id, int):
        store = current_app.extensions["lba.store"]
        with store.connect() as conn:
            row = conn.execute(sa.select(recruiter_accounts)
                               .where(recruiter_accounts.c.id == account_id)).mappings().first()
        if row is not None and row["session_version"] == session.get("session_version") \
                and row["status"] in SIGNED_IN_STATUSES:
            account = dict(row)
    g.lba_account = account
    return account
