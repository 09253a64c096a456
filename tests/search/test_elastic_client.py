"""The Elasticsearch client path against a local server answering like Elasticsearch 8; retries, timeouts, 503s.

No Elasticsearch server runs here (see tests/search/fake_es.py): the official client talks to a
recording server with Elasticsearch 8 headers, backed by the OpenSearch node, and the requests it
sends are compared with those opensearch-py sends for the same calls.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from app.factory import create_app
from app.search.contract import KINDS, EngineUnavailable, MatchQuery
from app.search.elastic import ConnectionConfig, ElasticEngine
from app.store import upgraded_store
from ranking import RankingContext
from ranking.linear import linear_spec
from scripts.opensearch_node import free_port
from tests.factories import make_documents
from tests.search.fake_es import Canned, FakeServer
from tests.search.opensearch import drop_prefix

TODAY = date.today()
CODES = ["D1102", "D1108", "M1805", "K2204"]
GENERATION = re.compile(r"\d{20}-[0-9a-f]{6}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def _scenario(engine: ElasticEngine, docs: list[dict[str, Any]]) -> list[Any]:
    """Every engine call the service makes, with the answers reduced to comparable values."""
    out: list[Any] = []
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add(d for d in docs if d["kind"] == kind)
    out.append({k: v["documents"] for k, v in engine.stats().items()})
    lyon = dict(latitude=45.764, longitude=4.8357)
    queries = [
        MatchQuery(romes=("D1102", "M1805"), radius_km=60, page_size=None, **lyon),
        MatchQuery(romes=("K2204",), radius_km=150, page=2, page_size=7, diploma_level=4, **lyon),
        MatchQuery(romes=("D1108",), radius_km=200, contract_types=("professionnalisation",), kinds=("offer",), **lyon),
        MatchQuery(romes=("M1805",), page_size=None, sources=("deposited",)),
        MatchQuery(romes=("D1102",), radius_km=80, text="offre", page_size=None, **lyon),
    ]
    for query in queries:
        result = engine.search(query)
        out.append((result.totals, [(h.kind, h.id, h.distance_km, h.text_score) for h in result.hits]))
    ctx = RankingContext(radius_km=60, today=TODAY, sort="relevance")
    ranked = engine.rank(queries[0], {k: linear_spec(k, True, ctx) for k in KINDS}, "relevance", 15)
    out.append((ranked.totals, ranked.facets, [(h.kind, h.id, h.rank_score) for h in ranked.hits]))
    out.append(sorted(h.id for h in engine.iter_candidates(queries[3])))
    offer = next(d for d in docs if d["kind"] == "offer")
    out.append(engine.get_many("offer", [offer["id"], "missing"]) == {offer["id"]: offer})
    out.append(engine.upsert("offer", [dict(offer, title="Offre modifiée")]))
    out.append(engine.delete("offer", [offer["id"], "missing"]))
    out.append(engine.health())
    return out


def _normalised(records: list[Any], prefix: str) -> list[tuple[str, str, dict[str, list[str]], str]]:
    """Requests with the engine's prefix, generation names and clock readings replaced by placeholders."""
    out = []
    for record in records:
        def clean(text: str) -> str:
            return TIMESTAMP.sub("<time>", GENERATION.sub("<generation>", text.replace(prefix, "<prefix>")))
        body = record.parsed_body()
        out.append((record.method, clean(record.path), record.query,
                    clean(repr(body)) if body is not None else ""))
    return out


def test_elasticsearch_client_sends_the_bodies_sent_to_opensearch(opensearch_url, refs):
    docs = make_documents(refs, 600, seed=31, codes=CODES, today=TODAY)
    es_facade = FakeServer("elasticsearch", upstream=opensearch_url).start()
    os_proxy = FakeServer("opensearch", upstream=opensearch_url).start()
    es_engine = ElasticEngine(ConnectionConfig("elasticsearch", es_facade.url), prefix="tces")
    os_engine = ElasticEngine(ConnectionConfig("opensearch", os_proxy.url), prefix="tcos")
    try:
        assert _scenario(es_engine, docs) == _scenario(os_engine, docs)
        sent_to_es = _normalised(es_facade.records, "tces")
        sent_to_os = _normalised(os_proxy.records, "tcos")
        assert len(sent_to_es) > 25
        assert sent_to_es == sent_to_os
        # What an Elasticsearch 8 or 9 server requires of a client: the compatibility media types.
        for record in es_facade.records:
            assert record.headers["accept"] == "application/vnd.elasticsearch+json; compatible-with=8"
            if record.body:
                assert record.headers["content-type"].endswith("compatible-with=8")
    finally:
        for engine in (es_engine, os_engine):
            engine.close()
            drop_prefix(opensearch_url, engine.prefix)
        es_facade.stop()
        os_proxy.stop()


@pytest.fixture
def scripted():
    server = FakeServer("elasticsearch").start()
    yield server
    server.stop()


def _engine(url: str, flavor: str = "elasticsearch", **config: Any) -> ElasticEngine:
    return ElasticEngine(ConnectionConfig(flavor, url, **config), prefix="lba", retries=3, backoff_s=0.01)


FOUND = {"docs": [{"_index": "lba-offer-1", "_id": "a", "found": True, "_source": {"id": "a"}}]}
OVERLOADED = {"error": {"type": "es_rejected_execution_exception", "reason": "queue full"}, "status": 429}
UNAVAILABLE = {"error": {"type": "unavailable_shards_exception", "reason": "primary not active"}, "status": 503}


@pytest.mark.parametrize("flavor", ["elasticsearch", "opensearch"])
def test_429_and_5xx_are_retried_with_backoff_then_answered(scripted, flavor):
    scripted.mode = flavor
    scripted.script += [Canned(429, OVERLOADED), Canned(503, UNAVAILABLE), Canned(200, FOUND)]
    assert _engine(scripted.url, flavor).get_many("offer", ["a"]) == {"a": {"id": "a"}}
    assert [r.path for r in scripted.records] == ["/lba-offer/_mget"] * 3
    assert len({r.body for r in scripted.records}) == 1


def test_retries_are_bounded_and_end_in_engine_unavailable(scripted):
    scripted.script += [Canned(503, UNAVAILABLE)] * 10
    with pytest.raises(EngineUnavailable, match="after 4 attempts"):
        _engine(scripted.url).get_many("offer", ["a"])
    assert len(scripted.records) == 4


def test_a_slow_engine_times_out_into_engine_unavailable(scripted):
    scripted.script += [Canned(200, FOUND, delay_s=1.0)] * 4
    with pytest.raises(EngineUnavailable):
        _engine(scripted.url, timeout_s=0.2).get_many("offer", ["a"])


def test_bulk_items_refused_with_429_are_resent_alone(scripted):
    alias_answer = {"lba-offer-1": {"aliases": {"lba-offer": {}}}}
    first = {"errors": True, "items": [{"index": {"_id": "a", "status": 200, "result": "updated"}},
                                       {"index": {"_id": "b", "status": 429, "error": OVERLOADED["error"]}}]}
    second = {"errors": False, "items": [{"index": {"_id": "b", "status": 200, "result": "updated"}}]}
    scripted.script += [Canned(200, alias_answer), Canned(200, first), Canned(200, second)]
    docs = [{"id": i, "location": {"lat": 45.0, "lon": 5.0}} for i in ("a", "b")]
    assert _engine(scripted.url).upsert("offer", docs) == 2
    resent = scripted.records[2].parsed_body()
    assert [line for line in resent if "index" in line] == [{"index": {"_index": "lba-offer", "_id": "b"}}]
    assert scripted.records[2].query == {"refresh": ["true"], "require_alias": ["true"]}


@pytest.mark.parametrize("flavor", ["elasticsearch", "opensearch"])
def test_an_unreachable_engine_is_unavailable_and_unhealthy(flavor):
    engine = _engine(f"http://127.0.0.1:{free_port()}", flavor)
    assert engine.health() is False
    with pytest.raises(EngineUnavailable):
        engine.search(MatchQuery(romes=("D1102",), latitude=45.0, longitude=5.0))


def test_the_api_answers_503_when_the_engine_is_down(settings, tmp_path):
    api_settings = replace(settings, database_url=f"sqlite:///{tmp_path / 'lba.sqlite'}",
                           ratelimit_path=str(tmp_path / "ratelimit.sqlite"), anonymous_rate=100000)
    upgraded_store(api_settings.database_url)
    app = create_app(api_settings, engine=_engine(f"http://127.0.0.1:{free_port()}"))
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "unavailable"
    match = client.get("/api/v1/match?romes=D1102&latitude=45.764&longitude=4.8357&radius=30")
    assert match.status_code == 503
    assert match.get_json()["error"]["code"] == "engine_unavailable"
    assert match.headers["Retry-After"] == "30"


def test_credentials_in_the_url_become_basic_auth():
    config = ConnectionConfig("elasticsearch", "https://lba:s%3Acret@search.example.org:9243/")
    assert config.split_url() == ("https://search.example.org:9243/", ("lba", "s:cret"))
