"""The transactional store (SQLite by default, PostgreSQL through DATABASE_URL): tables and the one engine builder."""
from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    # SHA-256 of the key: keys are 32 random bytes, so a fast hash is enough and lookups stay O(1).
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),
    sa.Column("rate_per_second", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def get_store(database_url: str) -> Engine:
    """The SQLAlchemy engine of `database_url`, created once per process with its tables."""
    with _lock:
        if database_url not in _engines:
            if database_url.startswith("sqlite:///"):
                Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(database_url, pool_pre_ping=True)
            if engine.dialect.name == "sqlite":
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            metadata.create_all(engine)
            _engines[database_url] = engine
        return _engines[database_url]


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets web workers read while the scheduler writes; the busy timeout absorbs short write locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
