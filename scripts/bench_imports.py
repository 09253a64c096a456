"""Import throughput per source: the pipeline's jobs on the demo files into an embedded engine in a temp directory."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.referentials import get_referentials  # noqa: E402
from app.search.embedded import EmbeddedEngine  # noqa: E402
from indexers.job_settings import JobSettings  # noqa: E402
from indexers.pipeline import run_job  # noqa: E402

JOBS = ("offers", "formations", "recruiters")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="national", choices=["small", "national"])
    parser.add_argument("--jobs", default=",".join(JOBS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    base = Settings.from_env()
    refs = get_referentials(base.data_dir)  # loaded once, outside the timings
    results = {}
    with tempfile.TemporaryDirectory(prefix="lba-bench-imports-") as tmp:
        settings = replace(base, index_dir=f"{tmp}/index", database_url=f"sqlite:///{tmp}/lba.sqlite",
                           demo_scale=args.scale)
        job_settings = JobSettings.from_env(settings, {})
        engine = EmbeddedEngine(settings.index_dir)
        for name in args.jobs.split(","):
            result = run_job(name, settings=settings, job_settings=job_settings, engine=engine, refs=refs)
            if result.outcome != "success":
                raise SystemExit(f"{name}: {result.outcome}: {result.error}")
            results[name] = {"read": result.read, "indexed": result.indexed,
                             "rejected": sum(result.rejected.values()), "seconds": round(result.duration_s, 1),
                             "documents_per_s": round(result.indexed / result.duration_s)}
            print(f"{name:<11} {result.indexed:>8} documents in {result.duration_s:7.1f} s = "
                  f"{result.indexed / result.duration_s:8.0f} documents/s (read {result.read}, "
                  f"rejected {sum(result.rejected.values())})", flush=True)
        engine.close()
    print(json.dumps({"scale": args.scale, "engine": "embedded", "jobs": results}))


if __name__ == "__main__":
    main()
