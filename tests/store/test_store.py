"""The store on SQLite and PostgreSQL: one migration history, stale schema refused, fork-safe engines, concurrency."""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from app.search.embedded import EmbeddedEngine
from app.store import StoreOutOfDate, api_keys, get_store, metadata, upgrade, write_tx
from app.store.engine import engine_for
from app.store.migrate import current_revision, head_revision
from tests.store.databases import DATABASES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=DATABASES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that exists but was never migrated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite'}"
    return request.getfixturevalue("postgres").create_database()


def test_the_migrations_build_exactly_the_tables_of_the_code(store_url: str) -> None:
    engine = get_store(store_url)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert set(sa.inspect(engine).get_table_names()) >= {"api_keys", "job_runs", "job_locks", "company_opt_outs",
                                                         "deposited_offers", "applications", "outbox", "used_tokens",
                                                         "idempotency_keys", "alembic_version"}


def test_a_store_that_is_behind_is_refused_with_the_command_to_run(empty_url: str, settings, tmp_path) -> None:
    from app.factory import create_app

    with pytest.raises(StoreOutOfDate, match="lba db upgrade") as refused:
        get_store(empty_url)
    assert "n'est pas à jour" in str(refused.value) and "behind" in str(refused.value)
    upgrade(engine_for(empty_url), "0001")
    with pytest.raises(StoreOutOfDate, match=r"version 0001, attendue"):
        create_app(replace(settings, database_url=empty_url, ratelimit_path=str(tmp_path / "rl.sqlite"),
                           embedding_model="none"), engine=EmbeddedEngine(tmp_path / "index"))
    upgrade(engine_for(empty_url))
    assert get_store(empty_url) is engine_for(empty_url)


def test_lba_db_upgrade_migrates_and_is_idempotent(empty_url: str, monkeypatch) -> None:
    from scripts.cli import main

    monkeypatch.setenv("DATABASE_URL", empty_url)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "current"]).exit_code == 1
    for _ in range(2):
        done = runner.invoke(main, ["db", "upgrade"])
        assert done.exit_code == 0 and head_revision() in done.output, done.output
    assert runner.invoke(main, ["db", "current"]).exit_code == 0


def test_a_store_made_by_the_old_create_all_keeps_its_rows(empty_url: str) -> None:
    engine = engine_for(empty_url)
    legacy = sa.MetaData()
    for name in ("api_keys", "job_runs", "job_locks", "company_opt_outs", "deposited_offers"):
        metadata.tables[name].to_metadata(legacy)
    # The legacy deposited_offers had only the columns before revision 0004's (the first it adds is account_id).
    offers = legacy.tables["deposited_offers"]
    names = [column.name for column in offers.columns]
    for name in names[names.index("account_id"):]:
        offers._columns.remove(offers.columns[name])  # noqa: SLF001 - a test-only copy of the table
    for index in [index for index in offers.indexes if index.name != "ix_deposited_offers_updated_at"]:
        offers.indexes.discard(index)
    legacy.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(api_keys).values(name="partner", key_hash="h" * 64, prefix="lba_x", rate_per_second=5,
                                                created_at=datetime.now(timezone.utc)))
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.select(api_keys.c.name)).scalars().all() == ["partner"]


def _count_keys(url: str) -> int:
    with get_store(url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one()


def _child_writes(url: str, queue) -> None:  # type: ignore[no-untyped-def]
    try:
        engine = get_store(url)  # the parent's engine object: its pooled connection must not be reused here
        with write_tx(engine) as conn:
            conn.execute(sa.insert(api_keys).values(name=f"child-{os.getpid()}", key_hash=os.urandom(32).hex(),
                                                    prefix="lba_c", rate_per_second=1,
                                                    created_at=datetime.now(timezone.utc)))
        queue.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        queue.put(repr(exc))


def test_a_forked_child_opens_its_own_connections(store_url: str) -> None:
    engine = get_store(store_url)
    with engine.connect() as conn:  # the parent's pool now holds an open connection
        conn.execute(sa.text("SELECT 1"))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_child_writes, args=(store_url, queue)) for _ in range(3)]
    for child in children:
        child.start()
    results = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join(30)
    assert results == ["ok"] * 3
    # The parent's connection survived its children: nobody else talked on its socket.
    assert _count_keys(store_url) == 3


WRITER = r"""
import sys, os
from datetime import datetime, timezone
import sqlalchemy as sa
from app.store import get_store, write_tx, api_keys
url, n = sys.argv[1], int(sys.argv[2])
engine = get_store(url)
for i in range(n):
    # Read then write in one transaction: the pattern that fails with "database is locked" on a
    # deferred SQLite transaction when another process commits in between.
    with write_tx(engine) as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one()
        conn.execute(sa.insert(api_keys).values(name=f"w{os.getpid()}-{i}", key_hash=os.urandom(32).hex(),
                                                prefix=str(count % 1000), rate_per_second=1,
                                                created_at=datetime.now(timezone.utc)))
print("done")
"""


def test_several_processes_writing_hard_at_once_lose_nothing(store_url: str) -> None:
    processes, each = 6, 150
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, store_url, str(each)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(processes)]
    outputs = [writer.communicate(timeout=300) for writer in writers]
    for writer, (out, err) in zip(writers, outputs):
        assert writer.returncode == 0 and "locked" not in err, err[-2000:]
    assert _count_keys(store_url) == processes * each
    if store_url.startswith("sqlite"):
        with get_store(store_url).connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
