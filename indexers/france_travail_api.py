"""France Travail "offres d'emploi v2" API client: OAuth2 token, per-département search, paging, splitting, retries."""
from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from urllib3.response import BaseHTTPResponse

from app.http_client import Policy, jittered_backoff, policy, retrying_session
from app.referentials import Referentials
from indexers import ImportStats, guarded
from indexers.france_travail import map_offer
from mappings.offer import to_document

log = logging.getLogger(__name__)

#: The partner realm's token endpoint and the search endpoint of the real service.
DEFAULT_TOKEN_URL = "https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire"
DEFAULT_API_URL = "https://api.francetravail.io/partenaire/offresdemploi/v2/offres/search"
DEFAULT_SCOPE = "api_offresdemploiv2 o2dsoffre"
#: Apprenticeship (E2) and professionalisation (FS) contracts.
NATURE_CONTRAT = "E2,FS"

PAGE_SIZE = 150  # the API refuses ranges wider than 150
MAX_FIRST_INDEX = 3000  # first index of a range may not exceed 3000 ...
RESULT_CAP = 3150  # ... so at most 3150 offers of one query can be read (0-3149)
MAX_ROME_CODES = 200  # codeROME takes at most 200 comma-separated codes
#: Start of the first creation-date window: before any offer still online.
EARLIEST_CREATION = datetime(2000, 1, 1, tzinfo=timezone.utc)
#: A date window this short that still overflows the cap is read up to the cap (and counted).
MIN_WINDOW = timedelta(hours=1)

#: Answers worth another try: rate limited, or any server error.
RETRIED = frozenset({429, *range(500, 600)})

_CONTENT_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)\s*/\s*(\d+)")


class FranceTravailError(RuntimeError):
    """The API could not be read (credentials refused, retries exhausted, unexpected answer)."""


@dataclass(frozen=True)
class FranceTravailConfig:
    """Credentials, endpoints and politeness settings; `from_env()` documents the variables."""

    client_id: str
    client_secret: str
    token_url: str = DEFAULT_TOKEN_URL
    api_url: str = DEFAULT_API_URL
    scope: str = DEFAULT_SCOPE
    timeout_s: float = 30.0
    max_retries: int = 5
    backoff_s: float = 1.0  # first retry delay without Retry-After; doubles each attempt
    max_backoff_s: float = 60.0
    # The documented rate limit is about 10 calls/s: stay a little under it.
    min_interval_s: float = 0.12

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "FranceTravailConfig | None":
        """The configuration from the environment, or None when no credentials are set.

        LBA_FT_CLIENT_ID, LBA_FT_CLIENT_SECRET  partner application credentials (both required)
        LBA_FT_TOKEN_URL  OAuth2 token endpoint (default: the partner realm of entreprise.francetravail.fr)
        LBA_FT_API_URL    offers search endpoint (default: api.francetravail.io .../offresdemploi/v2/offres/search)
        LBA_FT_SCOPE      OAuth2 scopes (default "api_offresdemploiv2 o2dsoffre")
        """
        env = os.environ if environ is None else environ
        client_id, secret = env.get("LBA_FT_CLIENT_ID", "").strip(), env.get("LBA_FT_CLIENT_SECRET", "").strip()
        if not (client_id and secret):
            return None
        return cls(client_id=client_id, client_secret=secret,
                   token_url=env.get("LBA_FT_TOKEN_URL") or DEFAULT_TOKEN_URL,
                   api_url=env.get("LBA_FT_API_URL") or DEFAULT_API_URL,
                   scope=env.get("LBA_FT_SCOPE") or DEFAULT_SCOPE)


@dataclass
class FetchStats:
    """What reading the API cost: requests, retries, token renewals, split queries, duplicates."""

    counts: Counter = field(default_factory=Counter)

    def add(self, name: str, count: int = 1) -> None:
        """Count `count` occurrences of `name`."""
        self.counts[name] += count

    def as_dict(self) -> dict[str, int]:
        """A JSON-friendly copy, sorted by name."""
        return dict(sorted(self.counts.items()))


class TokenProvider:
    """An OAuth2 client-credentials access token, cached until shortly before it expires."""

    #: Renew this long before `expires_in` runs out, so a token never dies in the middle of a call.
    MARGIN_S = 60.0

    def __init__(self, config: FranceTravailConfig, session: requests.Session, stats: FetchStats,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.session = session
        self.stats = stats
        self.clock = clock
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        """A valid token, requested anew when none is cached or the cached one is about to expire."""
        with self._lock:
            if not self._token or self.clock() >= self._expires:
                self._renew()
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the API answered 401: it was revoked or expired early)."""
        with self._lock:
            self._token, self._expires = "", 0.0

    def _renew(self) -> None:
        data = {"grant_type": "client_credentials", "client_id": self.config.client_id,
                "client_secret": self.config.client_secret, "scope": self.config.scope}
        try:
            answer = self.session.post(self.config.token_url, data=data, timeout=self.config.timeout_s)
        except requests.RequestException as exc:
            raise FranceTravailError(f"token endpoint unreachable: {exc}") from exc
        if answer.status_code != 200:
            raise FranceTravailError(f"token endpoint answered {answer.status_code}: {answer.text[:200]}")
        try:
            body = answer.json()
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 1499))
        except (ValueError, KeyError, TypeError) as exc:
            raise FranceTravailError(f"unexpected token answer: {answer.text[:200]}") from exc
        # A short-lived token (tests, or a misconfigured realm) keeps half its life as margin.
        margin = min(self.MARGIN_S, lifetime / 2)
        self._token, self._expires = token, self.clock() + lifetime - margin
        self.stats.add("tokens")


@dataclass(frozen=True)
class Page:
    """One answer of the search endpoint: its offers and the total the query matches."""

    items: list[Any]
    total: int


class FranceTravailClient:
    """Reads every apprenticeship offer of the API, one département at a time.

    `sleep`, `clock` and `rng` are injectable so tests run retries and token expiry instantly.
    """

    def __init__(self, config: FranceTravailConfig, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()  # token endpoint: one attempt, a failure is reported at once
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.stats = FetchStats()
        self.tokens = TokenProvider(config, self.session, self.stats, clock)
        self._last_call = float("-inf")
        self._backoff = jittered_backoff(config.backoff_s, config.max_backoff_s, rng=self.rng, now=lambda: self.now())
        # Every 5xx and 429 is retried, through the one policy; the configuration is read when the session is built.
        self.search_session = retrying_session(policy(config.max_retries, config.backoff_s, statuses=RETRIED,
                                                      wait=self._wait, pause=self._pause))

    # ----- one request ---------------------------------------------------------------------------
    def search_page(self, params: Mapping[str, str], start: int) -> Page:
        """The offers at [start, start + 149] of a query, and the query's total."""
        query = {**params, "range": f"{start}-{start + PAGE_SIZE - 1}"}
        answer = self._get(query)
        self.stats.add("pages")
        if answer.status_code == 204 or not answer.content:
            return Page([], 0)
        try:
            body = answer.json()
        except ValueError as exc:
            raise FranceTravailError(f"search answered invalid JSON: {answer.text[:200]}") from exc
        items = body.get("resultats") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise FranceTravailError("search answer has no 'resultats' list")
        total = _total(answer.headers.get("Content-Range", ""))
        if total is None:
            # 200 without Content-Range: everything fitted in this one page.
            total = start + len(items)
        return Page(items, total)

    def _get(self, params: Mapping[str, str]) -> requests.Response:
        """GET the search endpoint with a valid token; 429/5xx/network errors are retried by the session's policy
        (app/http_client.py), a 401 renews the token once."""
        for renewed in (False, True):
            self._throttle()
            headers = {"Authorization": f"Bearer {self.tokens.get()}", "Accept": "application/json"}
            try:
                response = self.search_session.get(self.config.api_url, params=params, headers=headers,
                                                   timeout=self.config.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise FranceTravailError(f"search failed after {self.config.max_retries} retries ({exc})") from exc
            self.stats.add("requests")
            if response.status_code in (200, 206, 204):
                return response
            if response.status_code == 401 and not renewed:
                # The token died before its announced expiry: fetch a new one and try again at once.
                self.stats.add("token_rejected")
                self.tokens.invalidate()
                continue
            if response.status_code in RETRIED:
                raise FranceTravailError(f"search failed after {self.config.max_retries} retries "
                                         f"(HTTP {response.status_code})")
            raise FranceTravailError(f"search answered {response.status_code} for {dict(params)}: "
                                     f"{response.text[:200]}")
        raise AssertionError("unreachable: the second pass returns or raises")

    def _wait(self, retry: Policy, answer: BaseHTTPResponse | None) -> float:
        """Retry-After when the API gives one, else exponential backoff with full jitter; counted and logged."""
        delay = self._backoff(retry, answer)
        self.stats.add("retries")
        if answer is not None:
            self.stats.add("requests")  # the retried answers count as requests, like the final one
            if answer.status == 429:
                self.stats.add("rate_limited")
        error = f"HTTP {answer.status}" if answer is not None else str(retry.history[-1].error)
        log.info("France Travail %s, retry %d in %.1f s", error, retry.attempt, delay)
        return delay

    def _pause(self, delay: float) -> None:
        self.sleep(delay)
        self._throttle()  # a retry is a call too: it keeps the spacing of the rate limit

    def _throttle(self) -> None:
        wait = self._last_call + self.config.min_interval_s - self.clock()
        if wait > 0:
            self.sleep(wait)
        self._last_call = self.clock()

    # ----- whole queries -------------------------------------------------------------------------
    def read_query(self, params: Mapping[str, str], first: Page | None = None) -> Iterator[Any]:
        """Every offer of a query that fits under the cap, page by page (the first page may be given)."""
        page = first or self.search_page(params, 0)
        yield from page.items
        start, total = PAGE_SIZE, min(page.total, RESULT_CAP)
        while start < total and start <= MAX_FIRST_INDEX:
            page = self.search_page(params, start)
            if not page.items:
                break  # offers withdrawn while paging: the total shrank
            yield from page.items
            start += PAGE_SIZE

    def iter_departement(self, departement: str, rome_codes: Iterable[str]) -> Iterator[Any]:
        """Every apprenticeship offer of a département, splitting by ROME code then date when over the cap."""
        params = {"natureContrat": NATURE_CONTRAT, "departement": departement, "sort": "1"}
        yield from self._read_or_split(params, sorted(set(rome_codes)), None)

    def _read_or_split(self, params: dict[str, str], codes: list[str] | None,
                       window: tuple[datetime, datetime] | None) -> Iterator[Any]:
        """Read `params` when it fits under the cap, else read its parts (ROME groups, then date halves).

        `codes` is the ROME code list still available to split on (None: the query is already
        restricted to one code); `window` is the creation-date window of the query, if any.
        """
        first = self.search_page(params, 0)
        if first.total <= RESULT_CAP:
            yield from self.read_query(params, first)
            return
        self.stats.add("split_queries")
        groups = split_codes(codes) if codes else []
        if groups:
            found = 0
            for group in groups:
                part = {**params, "codeROME": ",".join(group)}
                for item in self._read_or_split(part, group if len(group) > 1 else None, window):
                    found += 1
                    yield item
            if found < first.total:
                # Offers whose ROME code is not in our referential: the mapper would reject them anyway.
                self.stats.add("outside_rome_split", first.total - found)
            return
        start, end = window or (EARLIEST_CREATION, self.now().replace(microsecond=0))
        if end - start <= MIN_WINDOW:
            log.warning("France Travail query %s still matches %d offers in a %s window: reading the first %d",
                        params, first.total, end - start, RESULT_CAP)
            self.stats.add("truncated_offers", first.total - RESULT_CAP)
            yield from self.read_query(params, first)
            return
        middle = start + (end - start) / 2
        middle = middle.replace(microsecond=0)
        for low, high in ((start, middle), (middle + timedelta(seconds=1), end)):
            part = {**params, "minCreationDate": _api_date(low), "maxCreationDate": _api_date(high)}
            yield from self._read_or_split(part, None, (low, high))

    def iter_offers(self, departements: Iterable[str], rome_codes: Iterable[str]) -> Iterator[Any]:
        """Every apprenticeship offer of the départements, each id once (an offer may show up twice)."""
        codes = sorted(set(rome_codes))
        seen: set[str] = set()
        for departement in departements:
            for item in self.iter_departement(departement, codes):
                offer_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(offer_id, str) and offer_id:
                    if offer_id in seen:
                        self.stats.add("duplicates")
                        continue
                    seen.add(offer_id)
                yield item


def split_codes(codes: list[str]) -> list[list[str]]:
    """The ROME codes cut into the coarsest groups that split them: grand domaine, domaine, code.

    Each group holds at most MAX_ROME_CODES codes. A single code cannot be split: [] then.
    """
    if len(codes) <= 1:
        return []
    for width in (1, 3, 5):
        groups: dict[str, list[str]] = {}
        for code in codes:
            groups.setdefault(code[:width], []).append(code)
        if len(groups) > 1 or width == 5:
            break
    out: list[list[str]] = []
    for group in groups.values():
        out.extend(group[i:i + MAX_ROME_CODES] for i in range(0, len(group), MAX_ROME_CODES))
    return out


def departements_of(refs: Referentials) -> list[str]:
    """Codes of the départements France Travail covers (metropolitan and overseas), from the communes referential."""
    return sorted({c.department for c in refs.communes if c.zone in ("metro", "drom") and c.department})


def rome_codes_of(refs: Referentials) -> list[str]:
    """Every ROME code of the referential (parents and children), the split criterion of a capped query."""
    return sorted(refs.rome.codes)


def iter_documents(client: FranceTravailClient, refs: Referentials, stats: ImportStats,
                   departements: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    """Offer documents of the live API through the file importer's mapper; rejections counted in `stats`."""
    for item in client.iter_offers(departements if departements is not None else departements_of(refs),
                                   rome_codes_of(refs)):
        stats.read += 1
        record = guarded(stats, map_offer, item, refs, stats.warn)
        if record is not None:
            stats.indexed += 1
            yield to_document(record)


def _total(content_range: str) -> int | None:
    """The total after the slash of `offres 0-149/1234`, else None."""
    match = _CONTENT_RANGE.search(content_range)
    return int(match.group(3)) if match else None


def _api_date(moment: datetime) -> str:
    """The API's creation-date format: `yyyy-MM-ddTHH:mm:ssZ` in UTC."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
