"""What only the Elasticsearch/OpenSearch engine has: explicit mappings, generation indices, alias swaps, cleanup."""
from __future__ import annotations

from datetime import date

import pytest

from app.search import es_queries
from app.search.contract import EngineUnavailable, MatchQuery
from app.search.elastic import ElasticEngine
from tests.factories import make_documents
from tests.search.opensearch import drop_prefix, new_engine

TODAY = date.today()


@pytest.fixture
def elastic(opensearch_url):
    engine = new_engine(opensearch_url)
    yield engine
    engine.close()
    drop_prefix(opensearch_url, engine.prefix)


def _indices(engine: ElasticEngine, kind: str) -> list[str]:
    return sorted(engine._generations(kind))


def test_every_mapping_is_explicit_and_accepted(elastic):
    for kind in ("formation", "offer", "company"):
        index = f"{elastic.prefix}-mapping-{kind}"
        elastic._call("PUT", f"/{index}", body=es_queries.index_body(kind, "opensearch", shards=1, meta={}))
        mapping = elastic._call("GET", f"/{index}/_mapping")[index]["mappings"]
        assert mapping["dynamic"] == "strict"
        props = mapping["properties"]
        assert props["location"]["type"] == "geo_point"
        assert props["rome_index_codes"]["type"] == "keyword"
        assert props["search_text"]["analyzer"] == "french_folded"
        assert props["published_at"]["type"] == "date"
        tokens = elastic._call("POST", f"/{index}/_analyze",
                               body={"analyzer": "french_folded", "text": "L'apprentie Boulangère d'Orléans"})
        assert [t["token"] for t in tokens["tokens"]] == ["aprent", "boulanger", "orlean"]


def test_a_failed_build_deletes_its_index_and_leaves_the_alias(elastic, refs):
    docs = [d for d in make_documents(refs, 300, seed=3, codes=["D1102"], today=TODAY) if d["kind"] == "company"]
    with elastic.new_generation("company") as builder:
        builder.add(docs)
    published = elastic._alias_targets("company")

    def dying():
        yield from docs
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError, match="source died"):
        with elastic.new_generation("company") as doomed:
            doomed.add(dying())
    assert _indices(elastic, "company") == published == [builder.index]
    assert elastic._alias_targets("company") == published


def test_a_swap_keeps_the_previous_generation_and_deletes_older_ones(elastic, refs):
    docs = [d for d in make_documents(refs, 90, seed=3, codes=["D1102"], today=TODAY) if d["kind"] == "offer"]
    builders = []
    for _ in range(3):
        with elastic.new_generation("offer") as builder:
            builder.add(docs)
        builders.append(builder)
    assert _indices(elastic, "offer") == sorted(b.index for b in builders[1:])
    assert elastic._alias_targets("offer") == [builders[-1].index]
    settings = elastic._call("GET", f"/{builders[-1].index}/_settings")[builders[-1].index]["settings"]["index"]
    assert settings["refresh_interval"] == "1s" and settings["number_of_replicas"] == "0"


def test_derived_fields_serve_queries_but_never_come_back(elastic, refs):
    docs = make_documents(refs, 30, seed=2, codes=["D1102"], today=TODAY)
    company = next(d for d in docs if d["kind"] == "company")
    with elastic.new_generation("company") as builder:
        builder.add([company])
    assert elastic.get_many("company", [company["id"]]) == {company["id"]: company}
    hit = elastic.search(MatchQuery(romes=("D1102",), page_size=None)).hits[0]
    assert hit.rome_score == company["rome_scores"]["D1102"]


def test_writes_to_an_unpublished_kind_fail_without_creating_an_index(elastic, refs):
    doc = next(d for d in make_documents(refs, 3, seed=2, codes=["D1102"], today=TODAY) if d["kind"] == "offer")
    with pytest.raises(EngineUnavailable, match="no published offer index"):
        elastic.upsert("offer", [doc])
    with pytest.raises(EngineUnavailable):
        elastic.delete("offer", [doc["id"]])
    assert _indices(elastic, "offer") == []
