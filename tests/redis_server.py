"""A real Redis server for tests (Debian's redis-server): started on a free port in a temporary folder."""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.real_components import require, skip_if_opted_out

START_TIMEOUT_S = 15.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RedisServer:
    """One redis-server process; `url` is what LBA_RATELIMIT_STORAGE takes."""

    process: subprocess.Popen
    port: int
    home: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        """True when the server answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.home, ignore_errors=True)


def start_redis() -> RedisServer:
    """Start redis-server, or fail the test (skip only with LBA_SKIP_REDIS=1)."""
    skip_if_opted_out("redis")
    binary = shutil.which("redis-server")
    if binary is None and Path("/usr/bin/redis-server").exists():
        binary = "/usr/bin/redis-server"
    if binary is None:
        require("redis", "redis-server is not installed (Debian package redis-server; `make test` installs it)")
    home = Path(tempfile.mkdtemp(prefix="lba-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home), "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--logfile", str(home / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(process, port, home)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.ping():
            return server
        if process.poll() is not None:
            break
        time.sleep(0.05)
    log = (home / "redis.log").read_text(errors="replace")[-500:] if (home / "redis.log").exists() else ""
    server.stop()
    require("redis", f"redis-server did not answer on port {port}: {log}")


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A Redis server for the duration of the block."""
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()
