"""Load test of "Je candidate": N applications posted concurrently to a real gunicorn server while two
`lba worker` processes deliver the outbox to a local SMTP server; prints a JSON summary as its last line.

    python scripts/bench_applications.py                       # 1,000 applications, 32 clients, SQLite
    DATABASE_URL=postgresql://... python scripts/bench_applications.py --applications 1000

The index is a small synthetic one (companies and offers around Lyon, each with an application
address), built in a temporary folder with the store, so the run never touches var/.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.search.embedded import EmbeddedEngine  # noqa: E402
from app.store import applications, outbox, upgraded_store  # noqa: E402
from mappings.common import Place  # noqa: E402
from mappings.company import Company, to_document as company_document  # noqa: E402
from mappings.offer import Offer, to_document as offer_document  # noqa: E402
from scripts.smtp_sink import SmtpSink  # noqa: E402

PDF = b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\n" + b"%" + b"x" * 40000 + b"\n%%EOF\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_index(folder: Path, targets: int) -> list[str]:
    """An embedded index of `targets` companies and `targets` offers; returns the v1 targets as body fields."""
    engine = EmbeddedEngine(folder)
    expires = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    places = [Place(latitude=45.70 + i * 0.001, longitude=4.80 + i * 0.001, city="Lyon", postcode="69001",
                    insee="69123", department="69") for i in range(targets)]
    with engine.new_generation("company") as builder:
        builder.add(company_document(Company(siret=f"{40000000000000 + i}", name=f"Entreprise {i}", place=places[i],
                                             rome_scores={"D1102": 0.5}, rome_index_codes=["D1102"],
                                             email=f"rh{i}@entreprise.test")) for i in range(targets))
    with engine.new_generation("offer") as builder:
        builder.add(offer_document(Offer(source="bench", source_id=str(i), title=f"Offre {i}", romes=["D1102"],
                                         rome_index_codes=["D1102"], place=places[i], published_at=expires,
                                         expires_at=expires, contract_types=["apprentissage"],
                                         company_name=f"Entreprise {i}", company_siret=f"{50000000000000 + i}",
                                         apply_email=f"offre{i}@entreprise.test")) for i in range(targets))
    with engine.new_generation("formation") as builder:
        builder.add([])
    engine.close()
    return [f"company_siret={40000000000000 + i}" for i in range(targets)] + \
        [f"offer_id=bench-{i}" for i in range(targets)]


def wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--mail-workers", type=int, default=2)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for delivery")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="lba-bench-apps-"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'lba.sqlite'}"
    store = upgraded_store(database_url)
    targets = build_index(folder / "index", args.targets)
    port = free_port()
    processes: list[subprocess.Popen] = []
    with SmtpSink() as sink:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url, "SEARCH_ENGINE": "embedded",
               "LBA_INDEX_DIR": str(folder / "index"), "LBA_EMBEDDING_MODEL": "none", "PORT": str(port),
               "WEB_CONCURRENCY": str(args.web_workers), "LBA_ANONYMOUS_RATE": "1000000",
               "LBA_RATELIMIT_PATH": str(folder / "ratelimit.sqlite"), "SMTP_HOST": sink.host,
               "SMTP_PORT": str(sink.port), "LBA_OUTBOX_LEASE_S": "60", "LBA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
        gunicorn = Path(sys.executable).parent / "gunicorn"
        processes.append(subprocess.Popen([str(gunicorn), "--config", str(ROOT / "gunicorn.conf.py"), "--bind",
                                           f"127.0.0.1:{port}", "app.factory:create_app()"], env=env, cwd=ROOT,
                                          stdout=subprocess.DEVNULL, stderr=open(folder / "gunicorn.log", "w")))
        lba = [sys.executable, "-c", "import sys; from scripts.cli import main; sys.exit(main())"]
        for number in range(args.mail_workers):
            processes.append(subprocess.Popen([*lba, "worker", "--poll", "0.2"], env=env, cwd=ROOT,
                                              stdout=subprocess.DEVNULL,
                                              stderr=open(folder / f"worker{number}.log", "w")))
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", 300)
            statuses: dict[int, int] = {}
            lock = threading.Lock()
            session = threading.local()
            cv = base64.b64encode(PDF).decode()

            def post(number: int) -> None:
                if not hasattr(session, "http"):
                    session.http = requests.Session()
                field, value = targets[number % len(targets)].split("=")
                body = {"first_name": "Camille", "last_name": f"Test{number}", "email": f"camille{number}@example.org",
                        "phone": "0612345678", "message": "Bonjour, je candidate.", field: value,
                        "cv": {"name": "cv.pdf", "content": cv}}
                try:
                    status = session.http.post(f"http://127.0.0.1:{port}/api/v1/applications", json=body,
                                               headers={"Idempotency-Key": f"bench-{number}"}, timeout=60).status_code
                except requests.RequestException:
                    status = 0
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1

            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(post, range(args.applications)))
            post_s = time.perf_counter() - started
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                with store.connect() as conn:
                    open_rows = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(
                        outbox.c.state.in_(["pending", "sending", "committing"]))).scalar_one()
                if not open_rows:
                    break
                time.sleep(0.5)
            delivered_s = time.perf_counter() - started
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        with store.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(applications)).scalar_one()
            expected = set(conn.execute(sa.select(outbox.c.message_id)).scalars())
            states = dict(conn.execute(sa.select(outbox.c.state, sa.func.count()).group_by(outbox.c.state)).all())
        received = sink.by_message_id()
    delivered = len(set(received) & expected)
    summary = {
        "applications": args.applications, "clients": args.clients, "database": database_url.split(":", 1)[0],
        "accepted_202": statuses.get(202, 0), "other_statuses": {str(k): v for k, v in statuses.items() if k != 202},
        "stored": stored, "messages": len(expected), "delivered": delivered,
        "duplicates": sum(count - 1 for count in received.values() if count > 1),
        "lost": len(expected - set(received)), "outbox_states": states,
        "requests_per_s": round(args.applications / post_s, 1), "post_s": round(post_s, 2),
        "all_delivered_s": round(delivered_s, 2), "mails_per_s": round(delivered / delivered_s, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
