"""Load benchmark: gunicorn on the national demo data, a mixed query set from wrk for 60 s.

Starts the service the way `make run` does (gunicorn, preloaded app, one worker per core by
default), draws realistic requests (population-weighted places, 1–3 ROME codes weighted by
national hirings, all kinds, pages 1–3, the four widget radii), replays them from wrk (a separate
C process, so the load generator does not eat the server's CPU), and prints one JSON object with
`rps`, `p50_ms`, `p95_ms`, `p99_ms` and `errors` as its last line. Needs `wrk` (Debian package).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # noqa: E402
from app.referentials import get_referentials  # noqa: E402
from scripts.bench_engine import draw_queries  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

WRK_SCRIPT = """
local paths = {%(paths)s}
local i = 0
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i], {["X-API-Key"] = "%(key)s"})
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "p50_us": %%d, '
    .. '"p95_us": %%d, "p99_us": %%d, "max_us": %%d}\\n', summary.requests, summary.duration, errors,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def make_paths(n: int, seed: int) -> list[str]:
    """`n` request paths drawn like real traffic."""
    settings = Settings.from_env()
    refs = get_referentials(settings.data_dir)
    rng = random.Random(seed)
    paths = []
    for query in draw_queries(refs, n, seed):
        paths.append(f"/api/v1/match?romes={','.join(query.romes)}&latitude={query.latitude:.4f}"
                     f"&longitude={query.longitude:.4f}&radius={query.radius_km:g}&page={rng.choice([1, 1, 2, 3])}")
    return paths


def wait_ready(url: str, timeout_s: float = 120.0, process: "subprocess.Popen[bytes] | None" = None) -> None:
    """Poll /healthz until the service answers 200; fail at once if `process` (the server) has exited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the service exited with status {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"service not ready at {url} after {timeout_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")

    from scripts.cli import ensure_demo, index_demo_files

    settings = Settings.from_env()
    index_demo_files(settings, ensure_demo(settings, "national"), if_changed=True)
    work = Path(tempfile.mkdtemp(prefix="lba-bench-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'store.sqlite'}",
           "LBA_RATELIMIT_PATH": str(work / "ratelimit.sqlite"), "PORT": str(args.port),
           "WEB_CONCURRENCY": str(args.workers), "GUNICORN_ACCESSLOG": "off"}
    # A fresh store: the app and `lba apikey` refuse one behind its migrations.
    from app.store import upgrade
    from app.store.engine import engine_for

    upgrade(engine_for(env["DATABASE_URL"]))
    key = _create_key(env)
    script = work / "load.lua"
    paths = make_paths(args.queries, seed=11)
    script.write_text(WRK_SCRIPT % {"paths": ", ".join(json.dumps(p) for p in paths), "key": key})
    server = subprocess.Popen([str(Path(sys.executable).parent / "lba"), "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"),
                              start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{args.port}/healthz")
        # Warm-up: page cache and per-worker connections, not counted.
        subprocess.run(["wrk", "-t2", f"-c{args.connections}", "-d10s", "-s", str(script),
                        f"http://127.0.0.1:{args.port}"], check=True, capture_output=True)
        run = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--timeout", "5s",
                              "-s", str(script), f"http://127.0.0.1:{args.port}"],
                             check=True, capture_output=True, text=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    line = next(line for line in run.stdout.splitlines() if line.startswith("WRKJSON "))
    stats = json.loads(line.removeprefix("WRKJSON "))
    print(run.stdout.split("WRKJSON")[0].rstrip())
    print(json.dumps({
        "rps": round(stats["requests"] / (stats["duration_us"] / 1e6), 1),
        "p50_ms": round(stats["p50_us"] / 1000, 1),
        "p95_ms": round(stats["p95_us"] / 1000, 1),
        "p99_ms": round(stats["p99_us"] / 1000, 1),
        "max_ms": round(stats["max_us"] / 1000, 1),
        "errors": stats["errors"],
        "requests": stats["requests"],
        "connections": args.connections,
        "workers": args.workers,
        "seconds": args.seconds,
    }))


def _create_key(env: dict[str, str]) -> str:
    """A partner key with a rate the benchmark cannot reach, so rate limiting does not skew it."""
    out = subprocess.run([str(Path(sys.executable).parent / "lba"), "apikey", "create", "bench", "--rate", "100000"],
                         env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return next(word for word in out.split() if word.startswith("lba_"))


if __name__ == "__main__":
    main()
