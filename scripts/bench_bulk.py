"""Bulk loading into the cluster: the engine's builder (its own chunks, orjson) vs the client's streaming_bulk helper.

Reads the first `--documents` offers of the national demo file, loads them twice each way into
throw-away indices of the OpenSearch node at SEARCH_URL (default http://localhost:9250), and
prints one JSON object with the seconds of each run as its last line. The engine keeps its own
bulk path while this says the helper is slower (see app/search/elastic/bulk.py).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # noqa: E402
from app.referentials import get_referentials  # noqa: E402
from app.search import es_queries as q  # noqa: E402
from app.search.elastic import ConnectionConfig, ElasticEngine  # noqa: E402
from app.search.elastic.bulk import CHUNK_BYTES, CHUNK_DOCS  # noqa: E402
from indexers import ImportStats, france_travail  # noqa: E402
from indexers.sources import DEMO_FILES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=50000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    from opensearchpy import OpenSearch, helpers

    from scripts.cli import ensure_demo

    settings = Settings.from_env()
    refs = get_referentials(settings.data_dir)
    path = ensure_demo(settings, "national") / DEMO_FILES["offers"]
    docs = list(itertools.islice(france_travail.iter_documents(path, refs, ImportStats(france_travail.SOURCE)),
                                 args.documents))
    url = os.environ.get("SEARCH_URL", "http://localhost:9250")
    engine = ElasticEngine(ConnectionConfig("opensearch", url), prefix="benchbulk")
    client = OpenSearch(hosts=[url], timeout=60)
    results: dict[str, list[float]] = {"engine_bulk_s": [], "streaming_bulk_s": []}
    try:
        for run in range(args.runs):
            started = time.perf_counter()
            with engine.new_generation("offer") as builder:
                builder.add(docs)
            results["engine_bulk_s"].append(round(time.perf_counter() - started, 2))

            index = f"benchbulk-helper-{run}"
            started = time.perf_counter()
            client.indices.create(index=index, body=q.index_body("offer", "opensearch", shards=1, meta={}))
            actions = ({"_index": index, "_id": str(d["id"]), "_source": q.with_derived(d)} for d in docs)
            for ok, item in helpers.streaming_bulk(client, actions, chunk_size=CHUNK_DOCS,
                                                   max_chunk_bytes=CHUNK_BYTES, max_retries=3, initial_backoff=0.2):
                if not ok:
                    raise RuntimeError(f"refused: {item}")
            client.indices.put_settings(index=index, body=q.serving_settings(0))
            client.indices.refresh(index=index)
            results["streaming_bulk_s"].append(round(time.perf_counter() - started, 2))
    finally:
        client.indices.delete(index="benchbulk-*", params={"allow_no_indices": "true", "ignore_unavailable": "true"})
    print(json.dumps({"documents": len(docs), **results}))


if __name__ == "__main__":
    main()
