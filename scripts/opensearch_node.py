"""Prepare, start, check and stop the single-node OpenSearch that the test suite runs against.

`prepare` has Maven resolve OpenSearch 2.19 and its modules from Maven Central into ~/.m2 and
compile the launcher of scripts/opensearch/; `start` runs it on the machine's Java 17 and waits
until the node answers; `stop` sends SIGTERM so the node closes cleanly. The test suite uses the
same functions through a session fixture (tests/search/opensearch.py). `Cluster` starts several
nodes of one cluster from the same artifacts, one process each (the node-loss tests of
tests/search/test_cluster.py); `cluster` runs one in the foreground for local work.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "scripts" / "opensearch"
POM = BUILD_DIR / "pom.xml"
CLASSES = BUILD_DIR / "target" / "classes"
CLASSPATH_FILE = BUILD_DIR / "target" / "classpath.txt"
DEFAULT_HOME = ROOT / "var" / "opensearch"
DEFAULT_HTTP_PORT = 9250  # not 9200, so a developer's own Elasticsearch keeps its port
HEAP = os.environ.get("LBA_OPENSEARCH_HEAP", "512m")
#: Per member of a test cluster: three of them share the machine with everything else.
CLUSTER_HEAP = os.environ.get("LBA_OPENSEARCH_CLUSTER_HEAP", "320m")
#: The quick JIT only: a member starting on a busy 2-core machine spends half the CPU (10 s against 20 s
#: measured) and a test cluster never runs long enough for the optimising compiler to pay back.
CLUSTER_JVM_FLAGS = ["-XX:TieredStopAtLevel=1"]

# What a packaged node's config/jvm.options sets and the server code relies on.
JVM_FLAGS = [
    "-XX:+UseG1GC",
    "-Djava.locale.providers=SPI,COMPAT",  # OpenSearch's own ISO calendar provider for date parsing
    "-Dio.netty.noUnsafe=true",
    "-Dio.netty.noKeySetOptimization=true",
    "-Dio.netty.recycler.maxCapacityPerThread=0",
    "-Dlog4j2.formatMsgNoLookups=true",
    "-Dfile.encoding=UTF-8",
]


class NodeError(RuntimeError):
    """The node cannot be prepared or started; the message says exactly why."""


@dataclass
class Node:
    """A running node: its URL, and the process when this script started it."""

    url: str
    process: subprocess.Popen[bytes] | None = None
    home: Path | None = None

    @property
    def owned(self) -> bool:
        """Whether this script started the node (and so should stop it)."""
        return self.process is not None

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGTERM, wait for a clean close, SIGKILL only if the node hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def missing_tools() -> list[str]:
    """Names of the programs `prepare` and `start` need that are not on PATH."""
    return [tool for tool in ("java", "mvn") if shutil.which(tool) is None]


def prepare(force: bool = False, quiet: bool = True) -> list[str]:
    """Resolve the artifacts and compile the launcher; returns the runtime classpath."""
    missing = missing_tools()
    if missing:
        raise NodeError(f"cannot prepare the OpenSearch test node: {', '.join(missing)} not found on PATH "
                        "(install a Java 17 JDK and Maven 3.8, e.g. apt-get install openjdk-17-jdk-headless maven)")
    sources = [POM, *BUILD_DIR.joinpath("src").rglob("*.java")]
    fresh = CLASSPATH_FILE.is_file() and all(CLASSPATH_FILE.stat().st_mtime >= p.stat().st_mtime for p in sources)
    if force or not fresh:
        command = ["mvn", "-B", "-f", str(POM), "compile", "dependency:build-classpath"]
        if quiet:
            command.insert(1, "-q")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
            raise NodeError(f"`{' '.join(command)}` failed (exit {done.returncode}):\n{tail}")
        CLASSPATH_FILE.touch()
    return [str(CLASSES), *CLASSPATH_FILE.read_text().strip().split(os.pathsep)]


def answers(url: str, timeout_s: float = 2.0) -> dict | None:
    """The root document of the node at `url` when it is an OpenSearch node that answers, else None."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/", timeout=timeout_s) as response:
            body = json.load(response)
    except (OSError, ValueError):
        return None
    return body if body.get("version", {}).get("distribution") == "opensearch" else None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(home: Path = DEFAULT_HOME, http_port: int = DEFAULT_HTTP_PORT, transport_port: int | None = None,
          heap: str = HEAP, parent_pid: int | None = None, timeout_s: float = 180.0) -> Node:
    """Start a node with data under `home` and wait until its cluster is at least yellow."""
    node = spawn(home, http_port, transport_port or free_port(), heap=heap, parent_pid=parent_pid)
    wait_ready(node, timeout_s)
    return node


def spawn(home: Path, http_port: int, transport_port: int, heap: str = HEAP, parent_pid: int | None = None,
          extra: list[str] | None = None, jvm: list[str] | None = None) -> Node:
    """Launch a node process without waiting for it; `extra` are more launcher options, `jvm` more JVM flags."""
    classpath = prepare()
    url = f"http://127.0.0.1:{http_port}"
    home.mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    log_path = home / "console.log"
    command = ["java", f"-Xms{heap}", f"-Xmx{heap}", *JVM_FLAGS, *(jvm or []), f"-Djava.io.tmpdir={home / 'tmp'}",
               "-cp", os.pathsep.join(classpath), "lba.opensearch.Launcher", "--home", str(home),
               "--http-port", str(http_port), "--transport-port", str(transport_port), *(extra or [])]
    if parent_pid:
        command += ["--parent-pid", str(parent_pid)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=home)
    (home / "node.pid").write_text(f"{process.pid}\n")
    return Node(url, process, home)


def wait_ready(node: Node, timeout_s: float = 180.0) -> None:
    """Wait until the node answers and its cluster is at least yellow; stop it and raise NodeError if not."""
    assert node.process is not None and node.home is not None
    log_path = node.home / "console.log"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise NodeError(f"the OpenSearch node exited with code {node.process.returncode} while starting; "
                            f"last lines of {log_path}:\n{_tail(log_path)}")
        if answers(node.url) and _cluster_ready(node.url):
            return
        time.sleep(0.5)
    node.stop()
    raise NodeError(f"the OpenSearch node did not answer on {node.url} within {timeout_s:.0f} s; "
                    f"last lines of {log_path}:\n{_tail(log_path)}")


def _cluster_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health?wait_for_status=yellow&timeout=5s", timeout=10) as r:
            return json.load(r).get("status") in ("green", "yellow")
    except (OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read the log: {exc})"


class Cluster:
    """`size` nodes of one cluster on loopback, each its own process, so one can be SIGKILLed and restarted.

    Every node gets its own data folder under `root`, its own HTTP and transport ports and the
    transport ports of all the others as seed hosts; the cluster name is unique, so two clusters
    (or the shared test node) on one machine never join each other.
    """

    def __init__(self, root: Path, size: int = 3, heap: str = CLUSTER_HEAP, parent_pid: int | None = None) -> None:
        self.root = root
        self.name = f"lba-cluster-{secrets.token_hex(4)}"
        self.heap = heap
        self.parent_pid = parent_pid
        self.names = [f"{self.name}-{number}" for number in range(size)]
        self.http_ports = {name: free_port() for name in self.names}
        self.transport_ports = {name: free_port() for name in self.names}
        self.nodes: dict[str, Node] = {}

    @property
    def urls(self) -> list[str]:
        """The HTTP URL of every member, running or not, in member order."""
        return [f"http://127.0.0.1:{self.http_ports[name]}" for name in self.names]

    @property
    def search_url(self) -> str:
        """SEARCH_URL for the service: every member, comma-separated."""
        return ",".join(self.urls)

    def _spawn(self, name: str) -> Node:
        seeds = ",".join(f"127.0.0.1:{self.transport_ports[n]}" for n in self.names)
        extra = ["--cluster-name", self.name, "--node-name", name, "--seed-hosts", seeds,
                 "--initial-nodes", ",".join(self.names)]
        node = spawn(self.root / name, self.http_ports[name], self.transport_ports[name], heap=self.heap,
                     parent_pid=self.parent_pid, extra=extra, jvm=CLUSTER_JVM_FLAGS)
        self.nodes[name] = node
        return node

    def start(self, timeout_s: float = 240.0) -> None:
        """Launch every member at once (a cluster manager needs a quorum), then wait until all joined, green."""
        for name in self.names:
            self._spawn(name)
        deadline = time.monotonic() + timeout_s
        try:
            for name in self.names:
                wait_ready(self.nodes[name], max(deadline - time.monotonic(), 1.0))
            self.wait_health("green", max(deadline - time.monotonic(), 1.0))
        except NodeError:
            self.stop()
            raise

    def kill(self, name: str) -> None:
        """SIGKILL one member: no shutdown hook, no goodbye to the others, as when a machine dies."""
        process = self.nodes[name].process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(30)

    def restart(self, name: str, timeout_s: float = 180.0) -> None:
        """Start a killed member again on its data folder and ports, and wait until it answers."""
        wait_ready(self._spawn(name), timeout_s)

    def alive(self) -> list[str]:
        """Members whose process runs."""
        return [n for n, node in self.nodes.items() if node.process is not None and node.process.poll() is None]

    def get(self, path: str, timeout_s: float = 30.0) -> Any:
        """GET `path` (JSON) from the first member that answers."""
        return self.call("GET", path, timeout_s=timeout_s)

    def call(self, method: str, path: str, body: Any = None, timeout_s: float = 30.0) -> Any:
        """One JSON request to the first running member that answers; NodeError when none does."""
        error: Exception | None = None
        data = None if body is None else json.dumps(body).encode()
        for name in self.alive():
            request = urllib.request.Request(f"http://127.0.0.1:{self.http_ports[name]}{path}", data=data,
                                             method=method, headers={"content-type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=timeout_s) as response:
                    return json.load(response)
            except (OSError, ValueError) as exc:
                error = exc
        raise NodeError(f"no member of {self.name} answered {method} {path}: {error}")

    def wait_health(self, status: str = "green", timeout_s: float = 120.0) -> dict[str, Any]:
        """Wait until every member joined and the cluster reached `status`; the last health answer."""
        deadline = time.monotonic() + timeout_s
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            wait = max(1, min(10, int(deadline - time.monotonic())))
            try:
                health = self.get(f"/_cluster/health?wait_for_status={status}&wait_for_nodes={len(self.names)}"
                                  f"&timeout={wait}s", timeout_s=wait + 10)
            except NodeError:
                time.sleep(0.5)
                continue
            if not health.get("timed_out") and health.get("number_of_nodes") == len(self.names):
                return health
        raise NodeError(f"{self.name} did not become {status} with {len(self.names)} nodes within "
                        f"{timeout_s:.0f} s: {health}")

    def cluster_manager(self) -> str:
        """The name of the elected cluster manager."""
        return self.get("/_cat/cluster_manager?format=json")[0]["node"]

    def stop(self) -> None:
        """SIGTERM every running member (all at once, they close in parallel) and wait for each."""
        for node in self.nodes.values():
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            node.stop()


def stop_pid_file(home: Path, timeout_s: float = 60.0) -> bool:
    """Stop the node whose pid `start` wrote under `home`; False when none was running."""
    pid_file = home / "node.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="resolve the Maven artifacts and compile the launcher")
    prep.add_argument("--if-tools", action="store_true",
                      help="without java or mvn, warn and exit 0 unless CI is set (then fail)")
    run = sub.add_parser("start", help="start a node in the background and wait until it answers")
    for command in (run, sub.add_parser("stop", help="stop the node started by `start`"),
                    sub.add_parser("status", help="say whether a node answers")):
        command.add_argument("--home", type=Path, default=DEFAULT_HOME)
        command.add_argument("--port", type=int, default=DEFAULT_HTTP_PORT)
    several = sub.add_parser("cluster", help="run a cluster of N nodes in the foreground until Ctrl-C")
    several.add_argument("--nodes", type=int, default=3)
    several.add_argument("--home", type=Path, default=DEFAULT_HOME.parent / "opensearch-cluster")
    args = parser.parse_args()

    try:
        if args.command == "prepare":
            if args.if_tools and missing_tools() and not os.environ.get("CI"):
                print(f"warning: {', '.join(missing_tools())} not found: the OpenSearch engine tests will be "
                      "skipped (they fail when CI is set)", file=sys.stderr)
                return
            classpath = prepare(quiet=True)
            print(f"OpenSearch test node ready to start ({len(classpath)} classpath entries)")
        elif args.command == "start":
            url = f"http://127.0.0.1:{args.port}"
            if answers(url):
                print(f"an OpenSearch node already answers on {url}")
                return
            node = start(args.home, args.port)
            print(f"OpenSearch answers on {node.url} (pid {node.process.pid if node.process else '?'}, "
                  f"data in {args.home})")
        elif args.command == "cluster":
            cluster = Cluster(args.home, args.nodes)
            signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it like Ctrl-C
            try:
                cluster.start()
                print(f"{cluster.name}: {args.nodes} nodes, green, data in {args.home}\n"
                      f"SEARCH_ENGINE=opensearch SEARCH_REPLICAS=1 SEARCH_URL={cluster.search_url}", flush=True)
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
            finally:
                cluster.stop()
        elif args.command == "stop":
            print("stopped" if stop_pid_file(args.home) else "no node was running")
        else:
            info = answers(f"http://127.0.0.1:{args.port}")
            print(json.dumps(info["version"]) if info else "no OpenSearch node answers")
            sys.exit(0 if info else 1)
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
