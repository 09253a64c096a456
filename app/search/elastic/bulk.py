"""Bulk loading: documents in bounded chunks, items refused with 429 resent alone, other refusals reported.

Not the clients' `streaming_bulk` helpers: measured with scripts/bench_bulk.py (50,000 national
demo offers into the OpenSearch node, two runs each), this path took 14.8 and 16.5 s and
opensearch-py's helper 23.7 and 24.8 s with the same chunk sizes (it serialises with the standard
json module, this path with orjson), and the helpers retry only 429s, not the 5xx and lost
connections the engine's retry policy covers.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from app.search.contract import EngineUnavailable
from app.search.elastic.errors import IndexingError, Transient, reason
from app.search.elastic.retry import Transport, next_try, retry_policy

#: A bulk request carries at most this many documents or bytes: memory stays bounded whatever the
#: source size, and each request stays far below http.max_content_length (100 MB).
CHUNK_DOCS = 1000
CHUNK_BYTES = 5 * 2**20


def chunks(documents: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """`documents` in lists of at most CHUNK_DOCS documents or CHUNK_BYTES bytes."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for doc in documents:
        chunk.append(doc)
        size += len(orjson.dumps(doc))
        if len(chunk) >= CHUNK_DOCS or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


class Bulk(Transport):
    """The engine's `_bulk`."""

    def _bulk(self, lines: list[dict[str, Any]], params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Send bulk lines; items refused with 429 are resent with backoff, other refusals raise IndexingError."""
        pending = lines
        results: list[dict[str, Any]] = []
        retry = retry_policy(self.retries, self.backoff_s)
        while True:
            answer = self._call("POST", "/_bulk", params=params, body=pending, ndjson=True)
            items = answer["items"]
            if not answer.get("errors"):
                return results + items
            retry_lines: list[dict[str, Any]] = []
            failed = []
            for position, item in enumerate(item_results(items)):
                if item.get("status") == 429:
                    retry_lines.extend(action_lines(pending, position))
                elif "error" in item:
                    failed.append(item)
                else:
                    results.append(items[position])
            if failed:
                reasons = "; ".join(f"{f.get('_id')}: {reason({'error': f.get('error')})}" for f in failed[:5])
                raise IndexingError(f"{len(failed)} documents refused by {self.flavor}: {reasons}")
            if not retry_lines:
                return results
            pending = retry_lines
            # Items refused with 429 follow the same policy as whole requests, counted apart.
            policy = next_try(retry, "POST /_bulk", Transient(f"{len(pending) // 2} documents refused with 429"))
            if policy is None:
                raise EngineUnavailable(f"{self.flavor} kept refusing {len(pending) // 2} documents with 429")
            retry = policy
            time.sleep(retry.get_backoff_time())


def item_results(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The result object of each bulk item, whatever its action."""
    for item in items:
        yield next(iter(item.values()))


def action_lines(lines: list[dict[str, Any]], position: int) -> list[dict[str, Any]]:
    """The lines of the `position`-th action: two for index, one for delete."""
    index = 0
    for number in range(position + 1):
        start = index
        index += 1 if "delete" in lines[index] else 2
        if number == position:
            return lines[start:index]
    return []
