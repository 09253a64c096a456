"""Who calls the API: API key or IP, per-caller rate limits (429 + Retry-After), one log line per call."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping

from flask import Flask, Response, current_app, g, request
from werkzeug.datastructures import Headers

from app.errors import ApiError
from app.services.partners import KeyChecker
from app.services.ratelimit import RateLimiter

log = logging.getLogger("lba.api_calls")
KEY_HEADER = "X-API-Key"
#: The public service's security scheme: `Authorization: Bearer <token>`; here the token is the partner key.
BEARER_PREFIX = "bearer "
# The documentation itself is not metered: partners read it while integrating.
UNMETERED = ("/api/openapi.json", "/api/docs")


def register_access(app: Flask, checker: KeyChecker, limiter: RateLimiter, anonymous_rate: int) -> None:
    """Install the before/after hooks on every /api/ route."""
    app.extensions["lba.keys"] = checker
    app.extensions["lba.limiter"] = limiter

    @app.before_request
    def _identify_and_limit() -> None:
        g.started = time.perf_counter()
        g.caller = None
        g.partner = None
        if not request.path.startswith("/api/") or request.path in UNMETERED:
            return
        key = api_key_of(request.headers)
        ip = request.remote_addr or "unknown"  # the client's address once ProxyFix trusted the proxies
        if key:
            partner = checker.check(key)
            if partner is None:
                # Metered on the caller's IP before refused: guessing keys spends the anonymous budget.
                g.caller = f"ip:{ip}"
                _meter(limiter, f"ip:{ip}", anonymous_rate)
                raise ApiError(401, "invalid_api_key", "Clé d'API inconnue ou révoquée.")
            g.partner = partner  # the write API (app/api/v3_jobs.py) acts on this partner's offers
            g.caller, bucket, limit = f"key:{partner.id}:{partner.name}", f"key:{partner.id}", partner.rate_per_second
        else:
            g.caller, bucket, limit = f"ip:{ip}", f"ip:{ip}", anonymous_rate
        _meter(limiter, bucket, limit)

    @app.after_request
    def _log_call(response: Response) -> Response:
        caller = g.get("caller")
        if caller is not None:
            log.info(json.dumps({
                "caller": caller,
                "endpoint": request.url_rule.rule if request.url_rule else request.path,
                "status": response.status_code,
                "results": g.get("result_count"),
                "weights": g.get("weights_version"),
                "latency_ms": round((time.perf_counter() - g.started) * 1000, 2),
            }, ensure_ascii=False))
        return response


def _meter(limiter: RateLimiter, bucket: str, limit: int) -> None:
    """Count one call on `bucket`; a 429 with Retry-After once the window's limit is spent."""
    wait = limiter.hit(bucket, limit)
    if wait is not None:
        raise ApiError(429, "too_many_requests", "Trop de requêtes : réessayez dans quelques instants.",
                       {"limit_per_second": limit}, {"Retry-After": RateLimiter.retry_after_header(wait)})


def api_key_of(headers: Mapping[str, str] | Headers) -> str | None:
    """The partner key of a request: `X-API-Key`, else the token of `Authorization: Bearer …` (their scheme).

    Their document also declares an `authorization` header holding the bare key (scheme "api-key"): a
    value without a space is taken as one; any other scheme (Basic …) is not ours and is ignored.
    """
    key = (headers.get(KEY_HEADER) or "").strip()
    if key:
        return key
    authorization = (headers.get("Authorization") or "").strip()
    if authorization[:len(BEARER_PREFIX)].lower() == BEARER_PREFIX:
        return authorization[len(BEARER_PREFIX):].strip() or None
    return authorization if authorization and " " not in authorization else None


def count_results(n: int) -> None:
    """Record how many results the current call returns, for its log line."""
    g.result_count = n
    current_app.logger.debug("results: %s", n)
