"""The limits-based rate limiter: SQLite windows shared by processes, Redis shared by machines, fail open."""
from __future__ import annotations

import logging
import os
import time

import pytest

from app.services import ratelimit
from app.services.ratelimit import RateLimiter, SQLiteStorage, check_storage_uri, storage_uri


def test_sqlite_windows_count_per_bucket_and_restart_when_over(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    storage = SQLiteStorage(f"sqlite:///{tmp_path / 'rl.sqlite'}")
    assert [storage.incr("a", 10) for _ in range(3)] == [1, 2, 3]
    assert storage.get("a") == 3 and storage.get_expiry("a") == 1010.0 and storage.get("b") == 0
    clock[0] = 1010.5  # the window is over: the count starts again, with a new expiry
    assert storage.get("a") == 0 and storage.incr("a", 10) == 1 and storage.get_expiry("a") == 1020.5


def test_the_limiter_refuses_past_the_limit_with_the_wait(tmp_path):
    limiter = RateLimiter(storage_uri("", tmp_path / "rl.sqlite"), window_s=60)
    assert [limiter.hit("ip:1", 2) for _ in range(2)] == [None, None]
    wait = limiter.hit("ip:1", 2)
    assert wait is not None and 55 < wait <= 60
    assert limiter.hit("ip:2", 2) is None
    assert RateLimiter.retry_after_header(0.01) == "1" and RateLimiter.retry_after_header(59.2) == "60"


def test_a_forked_child_counts_in_the_same_file_through_its_own_connection(tmp_path):
    limiter = RateLimiter(storage_uri("", tmp_path / "rl.sqlite"), window_s=60)
    assert limiter.hit("ip:1", 3) is None  # the parent opens its connection, as gunicorn's master would
    parent_conn = limiter._limiter().storage._local.conn
    pid = os.fork()
    if pid == 0:  # child: a worker after the fork
        ok = limiter._limiter().storage._conn() is not parent_conn
        ok = ok and [limiter.hit("ip:1", 3) for _ in range(3)][:2] == [None, None]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert limiter.hit("ip:1", 3) is not None  # 1 + 3 hits: the child's counts are the parent's


def test_memory_storage_is_refused_because_it_counts_per_worker():
    with pytest.raises(ValueError, match="LBA_RATELIMIT_STORAGE"):
        check_storage_uri("memory://")
    check_storage_uri("redis://127.0.0.1:6379/0")


def test_two_instances_share_one_redis_limit(redis_url):
    one, two = RateLimiter(redis_url, window_s=60), RateLimiter(redis_url, window_s=60)  # two machines
    bucket = f"ip:test-{time.time_ns()}"
    assert [one.hit(bucket, 4), two.hit(bucket, 4), one.hit(bucket, 4), two.hit(bucket, 4)] == [None] * 4
    assert one.hit(bucket, 4) is not None and two.hit(bucket, 4) is not None


def test_a_dead_redis_fails_open_fast_with_one_log_line(monkeypatch, caplog):
    from tests.redis_server import start_redis

    server = start_redis()
    try:
        limiter = RateLimiter(server.url, window_s=60)
        assert [limiter.hit("ip:1", 1), limiter.hit("ip:1", 1) is not None] == [None, True]
        server.kill()
        with caplog.at_level(logging.ERROR):
            started = time.monotonic()
            assert all(limiter.hit("ip:1", 1) is None for _ in range(20))
            assert time.monotonic() - started < 2.0
        assert sum("rate-limit storage failed" in r.getMessage() for r in caplog.records) == 1
    finally:
        server.stop()
