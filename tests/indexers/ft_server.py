"""A local stand-in for France Travail's token and offers search endpoints, serving recorded real-format offers."""
from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.config import Settings

SAMPLE = "france_travail_offres_v2_search_alternance.json"

#: Real API limits, enforced here so a client that breaks them fails its tests as it would in production.
MAX_RANGE = 150
MAX_FIRST = 3000
MAX_LAST = 3149


def sample_offers() -> list[dict[str, Any]]:
    """The eight recorded offers (four in Moselle, 57; four in Meurthe-et-Moselle, 54)."""
    path = Path(Settings.from_env().data_dir) / "samples" / SAMPLE
    return json.loads(path.read_text(encoding="utf-8"))["resultats"]


def make_offers(count: int, departement: str, romes: list[str], start: int = 0,
                first_created: datetime = datetime(2025, 1, 1, tzinfo=timezone.utc),
                step: timedelta = timedelta(hours=3)) -> list[dict[str, Any]]:
    """`count` copies of the recorded offers of `departement` with new ids, ROME codes cycled, creation dates spread."""
    models = [o for o in sample_offers() if o["lieuTravail"]["commune"].startswith(departement)]
    out = []
    for n in range(count):
        item = copy.deepcopy(models[n % len(models)])
        item["id"] = f"{departement}T{start + n:06d}"
        item["romeCode"] = romes[n % len(romes)]
        item["dateCreation"] = (first_created + n * step).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        item.pop("description", None)  # keeps pages small; not needed by the mapper
        out.append(item)
    return out


@dataclass(frozen=True)
class Raw:
    """A malformed item (any JSON value) served among the offers of `departement`."""

    departement: str
    value: Any


def _departement(item: Any) -> str:
    if isinstance(item, Raw):
        return item.departement
    commune = str((item.get("lieuTravail") or {}).get("commune") or "")
    return item.get("_departement") or (commune[:3] if commune.startswith("97") else commune[:2])


def _created(item: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(item.get("dateCreation")))
    except ValueError:
        return None


class FakeFranceTravail:
    """Token endpoint (`/token`) and search endpoint (`/search`) on 127.0.0.1, an ephemeral port.

    `failures` is a queue of (status, headers) answered to the next searches before serving them;
    `revoke()` makes the current tokens invalid (the next search gets 401); `hook(params)` runs on
    each search. Every request is kept in `searches` / `token_requests` for assertions.
    """

    def __init__(self, offers: list[Any], token_lifetime: int = 1499) -> None:
        self.offers = offers
        self.token_lifetime = token_lifetime
        self.valid_tokens: set[str] = set()
        self.token_requests: list[dict[str, list[str]]] = []
        self.searches: list[dict[str, str]] = []
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.hook: Callable[[dict[str, str]], None] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def revoke(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    # ----- answers -----------------------------------------------------------------------------
    def token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.token_requests.append(form)
            if form.get("grant_type") != ["client_credentials"] or form.get("client_secret") != ["secret"]:
                return 400, {}, b'{"error": "invalid_client"}'
            token = f"tok{len(self.token_requests)}"
            self.valid_tokens.add(token)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime,
                "scope": form.get("scope", [""])[0]}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def search(self, params: dict[str, str], authorization: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.searches.append(params)
            if authorization.removeprefix("Bearer ") not in self.valid_tokens:
                return 401, {}, b'{"message": "token expired"}'
            if self.failures:
                status, headers = self.failures.pop(0)
                return status, headers, b'{"message": "try later"}'
        if self.hook is not None:
            self.hook(params)
        match = re.fullmatch(r"(\d+)-(\d+)", params.get("range", "0-149"))
        if not match:
            return 400, {}, b'{"message": "bad range"}'
        first, last = int(match.group(1)), int(match.group(2))
        if last < first or last - first + 1 > MAX_RANGE or first > MAX_FIRST or last > MAX_LAST:
            return 400, {}, json.dumps({"message": f"range {first}-{last} refused"}).encode()
        matching = self.matching(params)
        total = len(matching)
        if total == 0:
            return 204, {}, b""
        page = [o.value if isinstance(o, Raw) else o for o in matching[first:last + 1]]
        body = json.dumps({"resultats": page, "filtresPossibles": []}).encode()
        if first == 0 and last + 1 >= total:
            return 200, {"Content-Type": "application/json"}, body
        return 206, {"Content-Type": "application/json", "Content-Range": f"offres {first}-{last}/{total}",
                     "Accept-Range": "150"}, body

    def matching(self, params: dict[str, str]) -> list[Any]:
        """Offers a query matches, in a stable order (creation date descending, like sort=1)."""
        out = [o for o in self.offers if _departement(o) == params.get("departement")]
        if "codeROME" in params:
            codes = set(params["codeROME"].split(","))
            out = [o for o in out if isinstance(o, dict) and o.get("romeCode") in codes]
        if "minCreationDate" in params:
            low = datetime.fromisoformat(params["minCreationDate"].replace("Z", "+00:00"))
            high = datetime.fromisoformat(params["maxCreationDate"].replace("Z", "+00:00"))
            out = [o for o in out if isinstance(o, dict) and (c := _created(o)) is not None and low <= c <= high]
        return out

    # ----- server ------------------------------------------------------------------------------
    @contextmanager
    def running(self) -> Iterator["FakeFranceTravail"]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep the test output clean
                pass

            def _send(self, answer: tuple[int, dict[str, str], bytes]) -> None:
                status, headers, body = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                self._send(fake.token(form) if urlsplit(self.path).path == "/token" else (404, {}, b""))

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/search":
                    self._send((404, {}, b""))
                    return
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                self._send(fake.search(params, self.headers.get("Authorization", "")))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()


class FakeClock:
    """A monotonic clock the test moves; sleeping moves it too, so retries cost no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@contextmanager
def file_server(files: dict[str, bytes]) -> Iterator[str]:
    """Serve `files` (path → bytes) on 127.0.0.1; yields the base URL. A path missing from `files` is a 404."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = files.get(urlsplit(self.path).path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll `condition` until true; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
