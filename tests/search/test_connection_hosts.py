"""SEARCH_URL as a comma-separated list of cluster nodes: parsing, credentials, and failover to a live node."""
from __future__ import annotations

import pytest

from app.config import Settings
from app.search import build_engine
from app.search.contract import EngineUnavailable
from app.search.elastic import ConnectionConfig, ElasticEngine, ElasticsearchConnection, OpenSearchConnection
from scripts.opensearch_node import free_port
from tests.search.fake_es import Canned, FakeServer

FOUND = {"docs": [{"_index": "lba-offer-1", "_id": "a", "found": True, "_source": {"id": "a"}}]}


def test_a_comma_separated_url_lists_every_node():
    config = ConnectionConfig("opensearch", " http://10.0.0.1:9200, http://10.0.0.2:9200 ,,http://10.0.0.3:9200/")
    assert config.split_hosts() == (["http://10.0.0.1:9200", "http://10.0.0.2:9200", "http://10.0.0.3:9200/"], None)
    assert config.split_url() == ("http://10.0.0.1:9200,http://10.0.0.2:9200,http://10.0.0.3:9200/", None)


def test_credentials_given_once_apply_to_every_node():
    config = ConnectionConfig("elasticsearch", "https://lba:s%3Acret@a.example.org:9243,https://b.example.org:9243")
    assert config.split_hosts() == (["https://a.example.org:9243", "https://b.example.org:9243"], ("lba", "s:cret"))
    same = ConnectionConfig("opensearch", "https://u:p@a.example.org,https://u:p@b.example.org")
    assert same.split_hosts()[1] == ("u", "p")


@pytest.mark.parametrize("url", ["https://u:p@a.example.org,https://v:q@b.example.org", "", " , "])
def test_different_credentials_or_no_host_are_refused_at_once(url):
    with pytest.raises(ValueError):
        ConnectionConfig("opensearch", url)


def test_both_clients_are_given_every_host():
    url = "http://127.0.0.1:9301,http://127.0.0.1:9302,http://127.0.0.1:9303"
    opensearch = OpenSearchConnection(ConnectionConfig("opensearch", url))
    elastic = ElasticsearchConnection(ConnectionConfig("elasticsearch", url))
    try:
        pool = opensearch.client.transport.connection_pool
        assert sorted(c.host for c in pool.connections) == url.split(",")
        assert sorted(node.base_url for node in elastic.client.transport.node_pool.all()) == url.split(",")
    finally:
        opensearch.close()
        elastic.close()


def test_the_configured_engine_knows_every_host():
    settings = Settings(search_engine="opensearch", search_url="http://127.0.0.1:9301,http://127.0.0.1:9302",
                        search_replicas=1)
    engine = build_engine(settings)
    assert isinstance(engine, ElasticEngine) and engine.replicas == 1
    assert engine.config.split_hosts()[0] == ["http://127.0.0.1:9301", "http://127.0.0.1:9302"]


@pytest.mark.parametrize("flavor", ["elasticsearch", "opensearch"])
def test_a_dead_node_in_the_list_costs_one_retry_then_is_avoided(flavor):
    """One node refuses connections (killed), the other answers: every call succeeds, the dead one is skipped."""
    live = FakeServer(flavor).start()
    try:
        live.script += [Canned(200, FOUND)] * 20
        dead = f"http://127.0.0.1:{free_port()}"
        # The dead node first in the list and the client's choice randomised: each call may hit it once.
        engine = ElasticEngine(ConnectionConfig(flavor, f"{dead},{live.url}"), prefix="lba", retries=3,
                               backoff_s=0.01)
        for _ in range(10):
            assert engine.get_many("offer", ["a"]) == {"a": {"id": "a"}}
        # Once marked dead the refused node is not tried again within the pool's dead timeout: ten
        # calls reached the live server ten times, no more and no fewer.
        assert len(live.records) == 10
        engine.close()
    finally:
        live.stop()


def test_one_host_only_keeps_the_single_node_behaviour():
    """A single URL has no other node to fail over to: the engine's retries still end in EngineUnavailable."""
    engine = ElasticEngine(ConnectionConfig("opensearch", f"http://127.0.0.1:{free_port()}"), retries=2,
                           backoff_s=0.01)
    with pytest.raises(EngineUnavailable, match="after 3 attempts"):
        engine.get_many("offer", ["a"])


def test_a_server_side_timeout_parameter_is_sent_not_taken_as_the_client_timeout():
    """The publish's green wait sends timeout=60s; opensearch-py used to read it as its own timeout and fail."""
    server = FakeServer("opensearch").start()
    try:
        server.script.append(Canned(200, {"status": "green", "timed_out": False}))
        conn = OpenSearchConnection(ConnectionConfig("opensearch", server.url))
        answer = conn.request("GET", "/_cluster/health/lba-offer-1",
                              params={"wait_for_status": "green", "timeout": "60s"})
        conn.close()
        assert answer["status"] == "green"
        assert server.records[0].query == {"wait_for_status": ["green"], "timeout": ["60s"]}
    finally:
        server.stop()
