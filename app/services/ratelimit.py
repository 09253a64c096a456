"""Rate limits shared by every worker process: per-second counters in a small SQLite file."""
from __future__ import annotations

import math
import random
import sqlite3
import threading
import time
from pathlib import Path


class RateLimiter:
    """Fixed one-second windows per bucket (an API key or an IP address), shared through SQLite.

    SQLite rather than process memory because gunicorn runs several workers and a per-process count
    would multiply every limit by their number; a multi-machine deployment would swap in Redis.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._conn()
        conn.execute("CREATE TABLE IF NOT EXISTS hits(bucket TEXT NOT NULL, window INTEGER NOT NULL,"
                     " count INTEGER NOT NULL, PRIMARY KEY (bucket, window)) WITHOUT ROWID")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=5)
            # Counters are worthless after a crash, so no fsync: a hit costs microseconds.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            self._local.conn = conn
        return conn

    def hit(self, bucket: str, limit: int, now: float | None = None) -> float | None:
        """Count one request; None when allowed, else the seconds to wait before retrying."""
        moment = time.time() if now is None else now
        window = int(moment)
        conn = self._conn()
        count = conn.execute(
            "INSERT INTO hits(bucket, window, count) VALUES (?, ?, 1)"
            " ON CONFLICT(bucket, window) DO UPDATE SET count = count + 1 RETURNING count",
            (bucket, window)).fetchone()[0]
        if random.random() < 0.001:  # now and then, forget windows nobody will ask about again
            conn.execute("DELETE FROM hits WHERE window < ?", (window - 10,))
        if count > limit:
            return max(0.001, window + 1 - moment)
        return None

    @staticmethod
    def retry_after_header(seconds: float) -> str:
        """Retry-After in whole seconds, at least 1 as HTTP requires."""
        return str(max(1, math.ceil(seconds)))
