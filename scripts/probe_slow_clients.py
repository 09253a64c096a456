"""Slow-client probe: query latency (p50/p95) of a served API, alone and while half-open sockets dribble headers.

    python scripts/probe_slow_clients.py --url http://127.0.0.1:8000            # a running server
    python scripts/probe_slow_clients.py --spawn --index-dir var/index          # gunicorn.conf.py as shipped
    python scripts/probe_slow_clients.py --spawn --index-dir var/index --worker-class sync   # the old model

Each slow socket sends a request line, then one header line every `--dribble` seconds and never the
blank line that ends the headers: a sync worker waits on it for good, a gthread worker loses one thread.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = "/api/v1/match?romes=D1102&latitude=45.764&longitude=4.8357&radius=30"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    """A gunicorn master serving the app on `url`; its stderr (JSON logs, access log) goes to `log`."""

    process: subprocess.Popen
    url: str
    log: Path

    def worker_pids(self) -> list[int]:
        """The master's children (its workers), from /proc."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []


@contextmanager
def serve(index_dir: str | Path, env: dict[str, str] | None = None, workers: int = 4,
          worker_class: str | None = None, start_timeout_s: float = 180.0) -> Iterator[Served]:
    """Run gunicorn with the repository's gunicorn.conf.py on a free port until the block ends."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="lba-serve-"))
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "LBA_INDEX_DIR": str(index_dir),
               "DATABASE_URL": f"sqlite:///{folder / 'lba.sqlite'}", "LBA_RATELIMIT_PATH": str(folder / "rl.sqlite"),
               "LBA_EMBEDDING_MODEL": "none", "LBA_ANONYMOUS_RATE": "100000", "PORT": str(port),
               "WEB_CONCURRENCY": str(workers), **(env or {})}
    from app.store import upgraded_store

    upgraded_store(environ["DATABASE_URL"])  # the app refuses a store that `lba db upgrade` has not migrated
    args = [str(Path(sys.executable).parent / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    if worker_class:
        # gunicorn turns "sync" with threads > 1 into gthread: the old model needs one thread too.
        args += ["--worker-class", worker_class] + (["--threads", "1"] if worker_class == "sync" else [])
    log = folder / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen([*args, "app.factory:create_app()"], env=environ, cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
    served = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({process.returncode}): {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(served.url + "/healthz", timeout=5) as answer:
                    if answer.status == 200 and len(served.worker_pids()) == workers:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz in {start_timeout_s} s: "
                                   f"{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def slow_sockets(url: str, count: int, dribble_s: float = 0.5) -> Iterator[list[socket.socket]]:
    """`count` connections that send headers line by line and never finish them, until the block ends."""
    host, port = url.split("//", 1)[1].split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(f"GET {QUERY} HTTP/1.1\r\nHost: {host}\r\n".encode())
        sockets.append(sock)
    stop = threading.Event()

    def dribble() -> None:
        n = 0
        while not stop.wait(dribble_s):
            n += 1
            for sock in sockets:
                try:
                    sock.sendall(f"X-Slow-{n}: {n}\r\n".encode())
                except OSError:
                    pass  # a server that gave up on the socket is fine

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        yield sockets
    finally:
        stop.set()
        thread.join(5)
        for sock in sockets:
            sock.close()


def measure(url: str, n: int, timeout_s: float = 5.0) -> list[float]:
    """Latencies in seconds of `n` sequential queries; a failed or timed-out query counts as `timeout_s`."""
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url + QUERY, timeout=timeout_s) as answer:
                answer.read()
                ok = answer.status == 200
        except (urllib.error.URLError, OSError):
            ok = False
        latencies.append(time.perf_counter() - started if ok else timeout_s)
    return latencies


def p95(values: list[float]) -> float:
    """95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(0.95 * len(ordered)) - 1))]


def probe(url: str, slow: int, n: int, settle_s: float = 1.0) -> dict[str, float]:
    """p50/p95 in ms of `n` queries alone, then with `slow` slow sockets open."""
    measure(url, 3)  # warm caches
    alone = measure(url, n)
    with slow_sockets(url, slow):
        time.sleep(settle_s)  # let the server hand the slow sockets to its workers
        during = measure(url, n)
    return {"slow_sockets": slow, "queries": n,
            "alone_p50_ms": round(statistics.median(alone) * 1000, 1), "alone_p95_ms": round(p95(alone) * 1000, 1),
            "slow_p50_ms": round(statistics.median(during) * 1000, 1), "slow_p95_ms": round(p95(during) * 1000, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server to probe")
    parser.add_argument("--spawn", action="store_true", help="start gunicorn with gunicorn.conf.py")
    parser.add_argument("--index-dir", default=os.environ.get("LBA_INDEX_DIR", str(ROOT / "var" / "index")))
    parser.add_argument("--worker-class", default=None, help="override gunicorn.conf.py (e.g. sync)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--slow", type=int, default=8, help="slow sockets")
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args(argv)
    if args.spawn:
        with serve(args.index_dir, workers=args.workers, worker_class=args.worker_class) as served:
            result = probe(served.url, args.slow, args.queries)
        result["worker_class"] = args.worker_class or "gunicorn.conf.py"
    elif args.url:
        result = probe(args.url.rstrip("/"), args.slow, args.queries)
    else:
        parser.error("give --url or --spawn")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
