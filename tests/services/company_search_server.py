"""A local stand-in for the company-search API: a threaded HTTP server answering recorded payloads per SIRET."""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "company_search"

VALID = "41234567000019"          # BOULANGERIE DURAND, Lyon, NAF 10.71C, IDCC 0843 (Opco EP)
SECOND = "41234567000027"         # the same company's second establishment
CLOSED = "51234567900017"
EDUCATION = "61234567800017"      # NAF 85.59A: a CFA may sign up with it, a company may not
UNKNOWN = "71234567700017"
NON_DIFFUSIBLE = "81234567600017"
MALFORMED = "91234567500017"
WRONG_SHAPE = "31234567100019"
RETRIED = "71234567700025"        # 503 first, then the payload
SLOW = "81234567600025"           # answers after SLOW_S seconds
ALWAYS_DOWN = "91234567500025"    # 503 every time
SLOW_S = 1.5

ROUTES = {VALID: "valid.json", SECOND: "valid_second_establishment.json", CLOSED: "closed.json",
          EDUCATION: "education.json", UNKNOWN: "unknown.json", NON_DIFFUSIBLE: "non_diffusible.json",
          MALFORMED: "malformed.json", WRONG_SHAPE: "wrong_shape.json", RETRIED: "retried.json",
          SLOW: "valid.json"}


class CompanySearchServer:
    """Serves /search?q=<siret>; `requests` counts the requests per SIRET."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                siret = (parse_qs(url.query).get("q") or [""])[0]
                owner.requests[siret] += 1
                if url.path != "/search":
                    return self._send(404, b'{"erreur": "not found"}')
                if siret == ALWAYS_DOWN or (siret == RETRIED and owner.requests[siret] == 1):
                    return self._send(503, b"<html><body>Service Unavailable</body></html>", "text/html")
                if siret == SLOW:
                    time.sleep(SLOW_S)
                name = ROUTES.get(siret, "unknown.json")
                self._send(200, (FIXTURES / name).read_bytes())

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "CompanySearchServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def payload(name: str) -> dict:
    """One recorded payload."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))
