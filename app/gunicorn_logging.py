"""gunicorn's access log as one JSON object per request, carrying the request id the app answered."""
from __future__ import annotations

import json
import traceback
from datetime import datetime, timezone
from typing import Any

from gunicorn.glogging import Logger


class JsonAccessLogger(Logger):
    """Access lines built with json.dumps, so a quote or a backslash in a URL cannot break a line."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        try:
            headers = {name.lower(): value for name, value in (getattr(resp, "headers", None) or [])}
            line = {
                "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "logger": "gunicorn.access",
                "request_id": headers.get("x-request-id"),
                "remote_addr": environ.get("REMOTE_ADDR"),  # the client once ProxyFix trusted the proxy
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "query": environ.get("QUERY_STRING") or None,
                "protocol": environ.get("SERVER_PROTOCOL"),
                "status": int(str(resp.status).split(None, 1)[0]) if resp.status else None,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 2),
                "user_agent": environ.get("HTTP_USER_AGENT"),
            }
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - a log line must never fail a request
            self.error(traceback.format_exc())
