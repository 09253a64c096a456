"""Publishing with SEARCH_REPLICAS > 0: generations built with their replicas, a bounded wait, then the swap."""
from __future__ import annotations

from datetime import date

import pytest

from app.search import es_queries
from app.search.elastic import ConnectionConfig, ElasticEngine, health as elastic_health
from tests.factories import make_documents
from tests.search.fake_es import Canned, FakeServer
from tests.search.opensearch import drop_prefix, new_engine

TODAY = date.today()


def test_the_replica_wait_is_cut_into_waits_shorter_than_the_client_timeout(monkeypatch):
    monkeypatch.setattr(elastic_health, "REPLICA_WAIT_S", 30.0)
    server = FakeServer("opensearch").start()
    try:
        # OpenSearch answers a wait that ran out with 408 and the health body.
        server.script += [Canned(408, {"status": "yellow", "timed_out": True}, delay_s=0.1)] * 2
        server.script.append(Canned(200, {"status": "green", "timed_out": False}))
        engine = ElasticEngine(ConnectionConfig("opensearch", server.url, timeout_s=4.0), retries=0)
        assert engine._wait_for_green("lba-offer-1")["status"] == "green"
        assert [r.query for r in server.records] == [{"wait_for_status": ["green"], "timeout": ["2s"]}] * 3
        engine.close()
    finally:
        server.stop()


def test_a_single_node_publishes_with_replicas_after_the_bounded_wait(opensearch_url, refs, monkeypatch, caplog):
    """One node can never hold a replica: the generation is swapped in yellow after the wait, with a warning."""
    monkeypatch.setattr(elastic_health, "REPLICA_WAIT_S", 2.0)
    engine = new_engine(opensearch_url)
    engine.replicas = 1
    docs = [d for d in make_documents(refs, 60, seed=5, codes=["D1102"], today=TODAY) if d["kind"] == "offer"]
    try:
        with engine.new_generation("offer") as builder:
            settings = engine._call("GET", f"/{builder.index}/_settings")[builder.index]["settings"]["index"]
            assert settings["number_of_replicas"] == "1"  # built with the replicas it will serve with
            builder.add(docs)
        assert engine._alias_targets("offer") == [builder.index]
        assert engine.stats()["offer"]["documents"] == len(docs)
        assert "replicas not all allocated before the swap" in caplog.text
    finally:
        engine.close()
        drop_prefix(opensearch_url, engine.prefix)


@pytest.mark.parametrize("replicas", [0, 2])
def test_index_body_builds_with_the_serving_replicas(replicas):
    body = es_queries.index_body("offer", "opensearch", shards=1, meta={}, replicas=replicas)
    assert body["settings"]["index"]["number_of_replicas"] == replicas
    assert body["settings"]["index"]["refresh_interval"] == "-1"
