"""Parity: the same 200 queries on the embedded engine and on OpenSearch give the same ids in the same order.

Distances, the radius edge, the distance order and the distance facets are equal to the bit by
construction (es_queries computes the squared chord in Painless with geo.chord2's operations), so
there is no edge tolerance to bound: an id present on one side only fails the test. The one
difference is the text score, which is informational: FTS5's bm25 and Lucene's BM25 are two
formulas over two tokenisations (prefix words vs French light stemming). With text, the candidate
sets, totals and facets must still be equal; only the order of `rank` with a text weight may
differ, and the test bounds that difference to the text component alone (every other component
of every candidate is equal to 1e-12).
"""
from __future__ import annotations

import random
from datetime import date

import pytest

from app.search.contract import KINDS, MatchQuery
from app.search.embedded import EmbeddedEngine
from ranking import RankingContext
from ranking.linear import linear_spec
from tests.factories import make_documents
from tests.search.opensearch import drop_prefix, new_engine
from tests.search.test_engine_contract import CODE_POOL, _publish_all, _random_query

TODAY = date.today()
WORDS = ["boulanger", "pâtissier", "vendeur", "développeur web", "aide-soignant", "cuisinier"]


@pytest.fixture(scope="module")
def engines(opensearch_url, refs, tmp_path_factory):
    rng = random.Random(17)
    docs = [dict(d, search_text=" ".join(rng.sample(WORDS, 2)))
            for d in make_documents(refs, 6000, seed=7, codes=CODE_POOL, today=TODAY)]
    embedded = EmbeddedEngine(tmp_path_factory.mktemp("parity"))
    elastic = new_engine(opensearch_url)
    _publish_all(embedded, docs)
    _publish_all(elastic, docs)
    yield embedded, elastic
    embedded.close()
    elastic.close()
    drop_prefix(opensearch_url, elastic.prefix)


def _queries(n: int, seed: int) -> list[MatchQuery]:
    rng = random.Random(seed)
    filters = [{}, {}, {"diploma_level": 5}, {"contract_types": ("apprentissage",)}, {"sources": ("france_travail",)},
               {"kinds": ("company",)}, {"include_expired": True}, {"text": "boulanger"}]
    return [_random_query(rng, **rng.choice(filters)) for _ in range(n)]


def test_200_queries_give_the_same_ids_order_distances_and_totals(engines):
    embedded, elastic = engines
    compared = 0
    for query in _queries(200, seed=99):
        mine, theirs = elastic.search(query), embedded.search(query)
        assert mine.totals == theirs.totals, query
        assert [(h.kind, h.id) for h in mine.hits] == [(h.kind, h.id) for h in theirs.hits], query
        # Same doubles: distances come from the same unit vectors through the same operations.
        assert [h.distance_km for h in mine.hits] == [h.distance_km for h in theirs.hits]
        for a, b in zip(mine.hits, theirs.hits):
            assert (a.rome_score, a.diploma_level, a.contract_types, a.published_at, a.expires_at,
                    a.application_count, a.source) == (b.rome_score, b.diploma_level, b.contract_types,
                                                       b.published_at, b.expires_at, b.application_count, b.source)
            assert (a.text_score > 0) == (b.text_score > 0), (query.text, a.id)
        compared += len(theirs.hits)
    assert compared > 5000


def test_paged_answers_are_equal(engines):
    embedded, elastic = engines
    rng = random.Random(4)
    for _ in range(20):
        base = _random_query(rng)
        for page in (1, 2, 5):
            query = MatchQuery(**{**base.__dict__, "page": page, "page_size": 10})
            assert [h.id for h in elastic.search(query).hits] == [h.id for h in embedded.search(query).hits]


@pytest.mark.parametrize("sort", ["relevance", "distance", "date"])
def test_ranking_in_the_engine_gives_the_same_order_totals_and_facets(engines, sort):
    embedded, elastic = engines
    for query in _queries(40, seed=5):
        ctx = RankingContext(radius_km=query.radius_km, today=TODAY, has_text=bool(query.text), sort=sort)
        specs = {kind: linear_spec(kind, True, ctx) for kind in KINDS}
        mine = elastic.rank(query, specs, sort, limit=50)
        theirs = embedded.rank(query, specs, sort, limit=50)
        assert mine.totals == theirs.totals and mine.facets == theirs.facets, query
        if query.text:
            # Bounded difference: only the text component differs, so the same candidates compete.
            all_mine = elastic.rank(query, specs, sort, limit=100000)
            all_theirs = embedded.rank(query, specs, sort, limit=100000)
            assert {(h.kind, h.id) for h in all_mine.hits} == {(h.kind, h.id) for h in all_theirs.hits}
            continue
        assert [(h.kind, h.id) for h in mine.hits] == [(h.kind, h.id) for h in theirs.hits], (query, sort)
        for a, b in zip(mine.hits, theirs.hits):
            assert a.rank_score == pytest.approx(b.rank_score, abs=1e-12)
