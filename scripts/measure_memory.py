"""Memory of gunicorn web workers with the métier index and embedding model loaded (RSS, PSS, private)."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["boulanger", "dev web", "je veux travailler avec des animaux", "aide soignante", "cuisto", "mécano",
           "st etienne", "69003"]


def smaps_rollup(pid: int) -> dict[str, int]:
    """RSS, PSS and private (clean + dirty) memory of a process, in MiB, from /proc/<pid>/smaps_rollup."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key.strip()] = int(rest.split()[0])
    private = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return {"rss_mib": values["Rss"] // 1024, "pss_mib": values["Pss"] // 1024, "private_mib": private // 1024}


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def wait_ready(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/metiers?q=a", timeout=2).read()
            return
        except OSError:
            time.sleep(1)
    raise SystemExit("gunicorn did not answer in time")


def run(workers: int, preload: bool, port: int) -> dict:
    """Start gunicorn, query every endpoint so each worker has run the model, read memory, stop it."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "gunicorn_measure.py"
        config.write_text(f"exec(open({str(ROOT / 'gunicorn.conf.py')!r}).read())\npreload_app = {preload}\n"
                          f"workers = {workers}\nbind = '127.0.0.1:{port}'\n")
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/lba.sqlite",
               "LBA_RATELIMIT_PATH": f"{tmp}/ratelimit.sqlite", "LBA_ANONYMOUS_RATE": "100000"}
        # A fresh store: the app refuses one behind its migrations, so bring it to the current revision first.
        from app.store import upgrade
        from app.store.engine import engine_for

        upgrade(engine_for(env["DATABASE_URL"]))
        master = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", str(config),
                                   "app.factory:create_app()"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            wait_ready(port, 600)
            # Many rounds so that every sync worker has served requests, embeddings included.
            for _ in range(10 * workers):
                for q in QUERIES:
                    for path in ("/api/v1/metiers/resolve", "/api/v1/metiers", "/api/v1/communes"):
                        url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode({'q': q})}"
                        urllib.request.urlopen(url, timeout=30).read()
            pids = children(master.pid)
            result = {"workers": workers, "preload_app": preload, "master": smaps_rollup(master.pid),
                      "worker": [smaps_rollup(pid) for pid in pids]}
        finally:
            master.send_signal(signal.SIGTERM)
            master.wait(timeout=60)
    total_pss = result["master"]["pss_mib"] + sum(w["pss_mib"] for w in result["worker"])
    result["total_pss_mib"] = total_pss
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--compare", action="store_true", help="also measure without preload_app")
    args = parser.parse_args(argv)
    runs = [run(args.workers, True, args.port)]
    if args.compare:
        runs.append(run(args.workers, False, args.port))
    for r in runs:
        print(f"preload_app={r['preload_app']}: master {r['master']}")
        for i, w in enumerate(r["worker"]):
            print(f"  worker {i}: {w}")
        print(f"  total PSS (master + workers) {r['total_pss_mib']} MiB")
    print(json.dumps(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
