"""CSRF protection of every form (Flask-WTF's CSRFProtect); only JSON API blueprints are exempt, by name.

Forms carry a hidden `csrf_token` (the Jinja global `csrf_token()`); the recruiter JSON API
(cookie-authenticated) sends the same token in an `X-CSRFToken` header. The APIs exempted below
are authenticated by API key or anonymous: a forged cross-site request carries no credential there.
A refused form gets a French 400 page that keeps what was typed and offers to send it again.
"""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from app.errors import ApiError, _response

csrf = CSRFProtect()

#: JSON API blueprints authenticated by an API key or anonymous (never by the session cookie).
EXEMPT_BLUEPRINTS = ("health", "match", "details", "openapi", "v3", "v3_jobs", "v2", "metiers", "communes", "contact",
                     "statistics_api",
                     "usage")
#: JSON views of blueprints that also serve forms (the `applications` blueprint serves the reply page).
EXEMPT_VIEWS = ("app.api.applications.create_application", "app.api.applications.reply_api")
MESSAGE = ("Le formulaire n'a pas pu être envoyé : la page était ouverte depuis trop longtemps, ou elle ne vient "
           "pas de La bonne alternance. Vérifiez ce que vous avez saisi ci-dessous et envoyez-le à nouveau.")


def init_csrf(app: Flask, extra_exempt_blueprints: tuple[str, ...] = ()) -> None:
    """Protect every POST/PUT/PATCH/DELETE; call once every blueprint is registered."""
    # A token lives as long as the session that holds it (not Flask-WTF's default hour): a long form is not lost.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    csrf.init_app(app)
    for name in EXEMPT_BLUEPRINTS + extra_exempt_blueprints:
        blueprint = app.blueprints.get(name)
        if blueprint is None:
            raise RuntimeError(f"CSRF exemption names an unregistered blueprint {name!r}")
        csrf.exempt(blueprint)
    for view in EXEMPT_VIEWS:
        csrf.exempt(view)

    @app.errorhandler(CSRFError)
    def _csrf_refused(error: CSRFError):
        if request.path.startswith("/api/"):
            return _response(ApiError(400, "csrf_failed", "Jeton CSRF absent ou invalide : envoyez l'en-tête "
                                      "X-CSRFToken reçu avec la page.", {"reason": error.description}))
        # Files cannot be put back into a form: only the typed text fields are kept.
        fields = [(key, value) for key, value in request.form.items(multi=True) if key != "csrf_token"]
        return render_template("csrf_error.html", message=MESSAGE, fields=fields, action=request.full_path
                               if request.query_string else request.path, lost_files=bool(request.files)), 400
