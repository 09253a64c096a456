"""Real databases for the store tests: a throw-away PostgreSQL 15 cluster and fresh SQLite files.

tests/conftest.py imports the fixtures once (one cluster per session): every test taking
`store_url` runs on SQLite and on PostgreSQL, each time on an empty,
migrated database. The cluster lives in a temporary folder (initdb, a free port, its socket in
that folder) and is stopped at the end of the session. LBA_SKIP_POSTGRES=1 is the explicit
opt-out on a machine without PostgreSQL; without it a cluster that cannot start fails the tests.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import upgraded_store
from app.store.engine import dispose_all
from tests import real_components

PG_BIN = Path(os.environ.get("LBA_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASES = ("sqlite", "postgresql")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """One PostgreSQL server in its own temporary data folder, trusting local connections."""

    def __init__(self, bin_dir: Path = PG_BIN) -> None:
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="lba-pg-"))
        self.port = free_port()
        self._user = self._run_as()

    @staticmethod
    def _run_as() -> pwd.struct_passwd | None:
        # initdb refuses to run as root: the server then runs as the `postgres` system user.
        if os.geteuid() != 0:
            return None
        return pwd.getpwnam("postgres")

    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        user = self._user
        preexec = None
        if user is not None:
            def preexec() -> None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
        return subprocess.run(list(args), check=check, capture_output=True, text=True, preexec_fn=preexec,
                              cwd=self.folder, env={**os.environ, "LC_ALL": "C.UTF-8"})

    def start(self) -> "PostgresCluster":
        if not (self.bin_dir / "initdb").is_file():
            raise RuntimeError(f"PostgreSQL binaries not found in {self.bin_dir}: `make test` installs the "
                               f"Debian package postgresql-15 (or set LBA_SKIP_POSTGRES=1 to opt out)")
        if self._user is not None:
            os.chown(self.folder, self._user.pw_uid, self._user.pw_gid)
        data = self.folder / "data"
        self._cmd(str(self.bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                   f"-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
        started = self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"),
                            "-o", options, "-w", "-t", "60", "start", check=False)
        if started.returncode != 0:
            log = (self.folder / "log").read_text(errors="replace") if (self.folder / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log[-2000:]}")
        self._watch()
        return self

    def _watch(self) -> None:
        # A test run killed before its teardown must not leave a server behind: this watcher stops
        # the cluster and removes its folder as soon as the test process is gone.
        script = (f"while [ -d /proc/{os.getpid()} ]; do sleep 1; done; "
                  f"{self.bin_dir / 'pg_ctl'} -D {self.folder / 'data'} -m immediate stop >/dev/null 2>&1; "
                  f"rm -rf {self.folder}")
        command = ["sh", "-c", script]
        if self._user is not None:
            command = ["runuser", "-u", self._user.pw_name, "--", *command]
        self._watcher = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL,
                         start_new_session=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if getattr(self, "_watcher", None) is not None:
            self._watcher.kill()
            self._watcher.wait()
        self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop",
                  check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL cluster (started on first use, stopped at the end)."""
    real_components.skip_if_opted_out("postgres")
    try:
        cluster = PostgresCluster().start()
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        real_components.require("postgres", f"the throw-away PostgreSQL cluster did not start: {exc}")
    try:
        yield cluster
    finally:
        dispose_all()
        cluster.stop()


def fresh_database_url(kind: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """The URL of an empty database of `kind`, migrated to the head revision."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'store-{uuid.uuid4().hex[:8]}.sqlite'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    upgraded_store(url)
    return url


@pytest.fixture(params=DATABASES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty migrated store on SQLite, then on PostgreSQL."""
    yield fresh_database_url(request.param, request, tmp_path)
    dispose_all()


def wait_for(predicate, timeout_s: float = 30.0, every_s: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    """Poll `predicate` until it is true or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return bool(predicate())
