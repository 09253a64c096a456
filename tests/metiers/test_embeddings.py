"""Embedding cache keyed by (model, text), and degradation to lexical-only when the model is missing."""
from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from app.metiers import MetierIndex, build_metier_index
from app.metiers.embeddings import EmbeddingCache, embed_with_cache, load_embedder
from app.metiers.synonyms import load_synonyms


class CountingEmbedder:
    """A tiny deterministic embedder that counts the texts it was asked to embed."""

    name = "counting-test-model"
    dimension = 8

    def __init__(self) -> None:
        self.seen = 0

    def encode(self, texts):
        self.seen += len(texts)
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=self.dimension) for t in texts]
        matrix = np.asarray(rows, dtype=np.float32)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_cache_is_keyed_by_model_and_text(tmp_path):
    cache = EmbeddingCache(tmp_path)
    embedder = CountingEmbedder()
    first = embed_with_cache(embedder, cache, ["boulanger", "plombier", "boulanger"], 1)
    assert embedder.seen == 2 and first.shape == (3, 8)
    again = embed_with_cache(embedder, cache, ["plombier", "boulanger", "maçon"], 1)
    assert embedder.seen == 3  # only "maçon" was new
    np.testing.assert_array_equal(again[1], first[0])
    embedder.name = "another-model"
    embed_with_cache(embedder, cache, ["boulanger"], 1)
    assert embedder.seen == 4  # same text, other model: computed again


def test_rebuilding_an_index_reuses_the_cache(tmp_path, refs):
    cache = EmbeddingCache(tmp_path)
    embedder = CountingEmbedder()
    MetierIndex(refs.rome, load_synonyms(refs.rome.codes), embedder=embedder, cache=cache)
    computed = embedder.seen
    assert computed > 13000
    index = MetierIndex(refs.rome, load_synonyms(refs.rome.codes), embedder=embedder, cache=cache)
    assert embedder.seen == computed and index.semantic


def test_missing_model_degrades_to_lexical_with_a_warning(settings, refs, tmp_path, caplog):
    missing = replace(settings, embedding_model=str(tmp_path / "no-such-model"), embeddings_dir=str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="app.metiers.embeddings"):
        index = build_metier_index(missing, refs)
    assert not index.semantic
    assert any("lexical-only" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert index.resolve("boulanger")[0].parent == "D1102"


def test_model_can_be_switched_off_without_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert load_embedder("none") is None
    assert not caplog.records


def test_failing_query_embedding_answers_lexically(refs, caplog):
    class Broken(CountingEmbedder):
        def encode(self, texts):
            if len(texts) == 1:
                raise RuntimeError("model crashed")
            return super().encode(texts)

    index = MetierIndex(refs.rome, load_synonyms(refs.rome.codes), embedder=Broken())
    with caplog.at_level(logging.WARNING):
        assert index.resolve("boulanger")[0].parent == "D1102"
    assert "model crashed" in caplog.text
