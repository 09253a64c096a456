"""Per-caller rate limits with the `limits` library, on a storage every worker (and machine) shares."""
from __future__ import annotations

import logging
import math
import os
import random
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.config import check_storage_uri

log = logging.getLogger(__name__)

#: A network storage that fails is left alone for this long (requests are served unmetered), so a dead
#: Redis costs one timeout per worker every few seconds instead of one per request. A local SQLite
#: file is retried on the next call (its errors are a busy lock, over in milliseconds), and its
#: failures are logged at most once per this interval.
RETRY_STORAGE_AFTER_S = 2.0
#: Network storages must answer fast: a limit check is on the path of every API call.
NETWORK_TIMEOUT_S = 0.25
#: How long an SQLite writer waits for the file lock before the call fails open: a hit holds it for
#: microseconds, but a writer descheduled on a busy host holds it longer.
SQLITE_BUSY_TIMEOUT_MS = 1000


class SQLiteStorage(Storage):
    """Fixed-window counters in one SQLite file: the no-Redis default, shared by every worker of a host.

    limits' own memory storage lives in one process, which would multiply every limit by the number
    of gunicorn workers; a WAL-mode file is shared by all of them at a few microseconds per hit.
    Connections are opened lazily per process and per thread, so a connection made before a fork
    (gunicorn's preload_app) is never used by a child. Counters are worthless after a crash: no fsync.
    """

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        parsed = urlparse(uri)
        # As in SQLAlchemy URLs: sqlite:///relative/file, sqlite:////absolute/file.
        self.path = unquote(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
        if not self.path:
            raise ValueError(f"no file in rate-limit storage URI {uri!r}")
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("CREATE TABLE IF NOT EXISTS counters(key TEXT PRIMARY KEY, count INTEGER NOT NULL,"
                         " expires_at REAL NOT NULL) WITHOUT ROWID")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._conn()
        # Old column values on the right-hand side: an expired window restarts at `amount`.
        count = conn.execute(
            "INSERT INTO counters(key, count, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
            " count = CASE WHEN expires_at <= ? THEN excluded.count ELSE count + excluded.count END,"
            " expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END"
            " RETURNING count", (key, amount, now + expiry, now, now)).fetchone()[0]
        if random.random() < 0.001:  # now and then, forget windows that are over
            conn.execute("DELETE FROM counters WHERE expires_at < ?", (now - 60,))
        return int(count)

    def get(self, key: str) -> int:
        row = self._conn().execute("SELECT count FROM counters WHERE key = ? AND expires_at > ?",
                                   (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._conn().execute("SELECT expires_at FROM counters WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._conn().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))


def storage_uri(configured: str, sqlite_path: str | Path) -> str:
    """The storage URI in use: LBA_RATELIMIT_STORAGE when set, else the SQLite file LBA_RATELIMIT_PATH."""
    return configured or f"sqlite:///{Path(sqlite_path).resolve()}"


class RateLimiter:
    """Fixed windows of `window_s` seconds per bucket (an API key or an IP address).

    The storage is built lazily in each process (after gunicorn forks its workers, never in the
    master). Any storage error fails open: the call is served and one line is logged, because
    refusing every caller when Redis restarts would turn a counter outage into a service outage.
    """

    def __init__(self, uri: str, window_s: int = 1) -> None:
        check_storage_uri(uri)
        self.uri = uri
        self.window_s = window_s
        self._pid: int | None = None
        self._strategy: FixedWindowRateLimiter | None = None
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._logged_at = -RETRY_STORAGE_AFTER_S
        self._remote = urlparse(uri).scheme != "sqlite"

    def _limiter(self) -> FixedWindowRateLimiter:
        with self._lock:
            if self._strategy is None or self._pid != os.getpid():
                options: dict[str, float] = {}
                if urlparse(self.uri).scheme.startswith("redis"):
                    options = {"socket_timeout": NETWORK_TIMEOUT_S, "socket_connect_timeout": NETWORK_TIMEOUT_S}
                storage = storage_from_string(self.uri, wrap_exceptions=True, **options)
                self._strategy, self._pid = FixedWindowRateLimiter(storage), os.getpid()
            return self._strategy

    def hit(self, bucket: str, limit: int) -> float | None:
        """Count one request; None when allowed (or when the storage fails), else seconds to wait."""
        if time.monotonic() < self._down_until:
            return None
        item = RateLimitItemPerSecond(limit, self.window_s)
        try:
            strategy = self._limiter()
            if strategy.hit(item, bucket):
                return None
            reset = strategy.get_window_stats(item, bucket).reset_time
        except StorageError as exc:
            now = time.monotonic()
            if self._remote:
                self._down_until = now + RETRY_STORAGE_AFTER_S
            if now - self._logged_at >= RETRY_STORAGE_AFTER_S:
                self._logged_at = now
                log.error("rate-limit storage failed, serving unmetered: %s: %s",
                          type(exc.storage_error).__name__, exc.storage_error)
            return None
        return max(0.001, reset - time.time())

    @staticmethod
    def retry_after_header(seconds: float) -> str:
        """Retry-After in whole seconds, at least 1 as HTTP requires."""
        return str(max(1, math.ceil(seconds)))
