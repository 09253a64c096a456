"""The one builder of store engines: one engine per database URL and per process, never shared across a fork."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

# (pid, url) → engine: a forked child finds no entry under its own pid and builds its own pool.
_engines: dict[tuple[int, str], Engine] = {}
_lock = threading.Lock()

#: Milliseconds a SQLite writer waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30000


def build_engine(database_url: str) -> Engine:
    """A new engine for `database_url` with the store's connection rules (use `engine_for` to share one)."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver we pin; plain postgresql:// URLs would ask for psycopg2.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    engine = sa.create_engine(database_url, pool_pre_ping=True)
    _guard_pid(engine)
    if engine.dialect.name == "sqlite":
        _sqlite_rules(engine)
    return engine


def engine_for(database_url: str) -> Engine:
    """The engine of `database_url` for this process, created on first use (so after any fork)."""
    key = (os.getpid(), database_url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = build_engine(database_url)
        return engine


def dispose_after_fork() -> None:
    """Forget engines inherited from a parent process without closing the parent's connections."""
    pid = os.getpid()
    with _lock:
        for key in [key for key in _engines if key[0] != pid]:
            _engines.pop(key).dispose(close=False)


def dispose_all() -> None:
    """Close this process's pooled connections (before a fork, or at the end of a test)."""
    pid = os.getpid()
    with _lock:
        for key, engine in list(_engines.items()):
            if key[0] == pid:
                engine.dispose()


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction that holds the write lock from its first statement.

    SQLite's default deferred transaction takes the lock at its first write; when it read before,
    another writer may have committed in between and SQLite fails at once with "database is locked"
    (the busy timeout does not apply to that upgrade). BEGIN IMMEDIATE waits for the lock instead.
    On PostgreSQL this is a plain transaction.
    """
    with engine.execution_options(lba_immediate=True).begin() as conn:
        yield conn


def _guard_pid(engine: Engine) -> None:
    # SQLAlchemy's documented fork rule: a pooled connection opened by another process is never reused.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection opened by another process")


def _sqlite_rules(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN is switched off so that `begin` below decides the mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers run while one process writes; the busy timeout queues writers instead of failing.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("lba_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
