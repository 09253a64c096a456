"""A local HTTP server that records requests and answers like Elasticsearch 8 (or passes them to OpenSearch).

No Elasticsearch server runs in the test suite. This server stands in for one: it records every
request (method, path, query, headers, body), serves canned answers when a test scripts them, and
otherwise forwards the request to the session's OpenSearch node, whose REST answers have the
shapes Elasticsearch 8 gives for the APIs the engine uses. In `elasticsearch` mode it answers with
what the official client checks: the `X-Elastic-Product: Elasticsearch` header and the
`application/vnd.elasticsearch+json; compatible-with=8` media type. In `opensearch` mode it is a
plain recording proxy, so the bodies sent by both clients can be compared.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ES8_JSON = "application/vnd.elasticsearch+json;compatible-with=8"


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def parsed_body(self) -> Any:
        """The JSON body, or the list of NDJSON lines; None without a body."""
        if not self.body:
            return None
        text = self.body.decode()
        if "ndjson" in self.headers.get("content-type", ""):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text)


@dataclass
class Canned:
    """An answer served instead of forwarding: status, JSON body and an optional delay."""

    status: int
    body: dict[str, Any]
    delay_s: float = 0.0


@dataclass
class FakeServer:
    """The server; `url` once started, `records` as requests arrive, `script` consumed first-in first-out."""

    mode: str  # "elasticsearch" or "opensearch"
    upstream: str | None = None
    records: list[Recorded] = field(default_factory=list)
    script: list[Canned] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> "FakeServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
                return

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urllib.parse.urlsplit(self.path)
                record = Recorded(self.command, parts.path, urllib.parse.parse_qs(parts.query),
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.records.append(record)
                    canned = server.script.pop(0) if server.script else None
                if canned is not None:
                    time.sleep(canned.delay_s)
                    status, payload = canned.status, json.dumps(canned.body).encode()
                else:
                    status, payload = server._forward(record, parts.query)
                self.send_response(status)
                if server.mode == "elasticsearch":
                    self.send_header("content-type", ES8_JSON)
                    self.send_header("x-elastic-product", "Elasticsearch")
                else:
                    self.send_header("content-type", "application/json; charset=UTF-8")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def _forward(self, record: Recorded, query: str) -> tuple[int, bytes]:
        if self.upstream is None:
            return 500, json.dumps({"error": {"type": "no_upstream", "reason": "nothing scripted"}}).encode()
        # The node speaks plain JSON media types; the vendored ES 8 ones are the same JSON.
        content_type = record.headers.get("content-type", "application/json")
        content_type = "application/x-ndjson" if "ndjson" in content_type else "application/json"
        request = urllib.request.Request(f"{self.upstream}{record.path}{'?' + query if query else ''}",
                                         data=record.body or None, method=record.method,
                                         headers={"content-type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
