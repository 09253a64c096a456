"""Partner API keys: created and revoked from the CLI, stored hashed, checked on every API call."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.store import api_keys

KEY_PREFIX = "lba_"
DEFAULT_KEY_RATE = 50  # requests per second: ten times an anonymous caller, the public service's order of magnitude
CACHE_SECONDS = 10.0  # a revoked key stops working within this delay without a store read per request


@dataclass(frozen=True)
class Partner:
    """The caller behind a valid API key."""

    id: int
    name: str
    rate_per_second: int


def hash_key(key: str) -> str:
    """SHA-256 hex digest of a key: what the store keeps instead of the key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store: Engine, name: str, rate_per_second: int = DEFAULT_KEY_RATE) -> tuple[int, str]:
    """Create a key for partner `name`; returns (id, key). The key is shown once and never stored."""
    if not name.strip():
        raise ValueError("a partner name is required")
    if rate_per_second < 1:
        raise ValueError("the rate must be at least 1 request per second")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with store.begin() as conn:
        result = conn.execute(api_keys.insert().values(
            name=name.strip(), key_hash=hash_key(key), prefix=key[:12], rate_per_second=rate_per_second,
            created_at=datetime.now(timezone.utc)))
        primary_key = result.inserted_primary_key
        assert primary_key is not None
        return int(primary_key[0]), key


def revoke_key(store: Engine, key_id: int) -> bool:
    """Revoke key `key_id`; False when there is no such active key."""
    with store.begin() as conn:
        result = conn.execute(api_keys.update().where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                              .values(revoked_at=datetime.now(timezone.utc)))
        return result.rowcount == 1


def list_keys(store: Engine) -> list[dict[str, object]]:
    """Every key with its partner, prefix, rate and state (never the key itself)."""
    with store.connect() as conn:
        rows = conn.execute(sa.select(api_keys.c.id, api_keys.c.name, api_keys.c.prefix,
                                      api_keys.c.rate_per_second, api_keys.c.created_at, api_keys.c.revoked_at)
                            .order_by(api_keys.c.id)).mappings().all()
    return [dict(row) for row in rows]


class KeyChecker:
    """Looks keys up by hash, caching answers for CACHE_SECONDS per process."""

    def __init__(self, store: Engine) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, Partner | None]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> Partner | None:
        """The partner of an active key, else None."""
        digest = hash_key(key)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self.store.connect() as conn:
            row = conn.execute(sa.select(api_keys.c.id, api_keys.c.name, api_keys.c.rate_per_second)
                               .where(api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None))).first()
        partner = Partner(row.id, row.name, row.rate_per_second) if row else None
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[digest] = (now, partner)
        return partner
