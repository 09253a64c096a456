"""Free text to ROME codes: the métier index, its construction from settings, and its place in the app."""
from __future__ import annotations

import os
import threading

from flask import Flask, current_app

from app.config import Settings
from app.metiers.embeddings import EmbeddingCache, load_embedder
from app.metiers.index import MetierIndex, RomeMatch, Suggestion, rare_appellations
from app.metiers.synonyms import load_synonyms
from app.referentials import Referentials

__all__ = ["MetierIndex", "RomeMatch", "Suggestion", "build_metier_index", "get_metier_index",
           "get_metier_resolver", "init_app", "resolve_romes"]

EXTENSION = "lba.metiers"


def build_metier_index(settings: Settings, refs: Referentials) -> MetierIndex:
    """The full index: every appellation, ROME label, domain and synonym, embedded when a model loads."""
    embedder = load_embedder(settings.embedding_model, settings.embedding_threads)
    cache = EmbeddingCache(settings.embeddings_dir) if embedder is not None else None
    return MetierIndex(refs.rome, load_synonyms(refs.rome.codes), embedder=embedder, cache=cache,
                       rare=rare_appellations(refs.data_dir), build_threads=os.cpu_count() or 1)


_indexes: dict[tuple[str, str, str, int], MetierIndex] = {}
_lock = threading.Lock()


def get_metier_index(settings: Settings, refs: Referentials) -> MetierIndex:
    """The index for these settings, built once per process: apps created again (tests) reuse it."""
    key = (str(refs.data_dir), settings.embedding_model, settings.embeddings_dir, settings.embedding_threads)
    with _lock:
        if key not in _indexes:
            _indexes[key] = build_metier_index(settings, refs)
        return _indexes[key]


def init_app(app: Flask, index: MetierIndex | None = None) -> None:
    """Attach the métier index to `app`; built here, before gunicorn forks, so workers share its memory.

    Also registers its `resolve` as the app's "lba.resolver", the free-text hook of the match service.
    """
    if index is None:
        index = get_metier_index(app.extensions["lba.settings"], app.extensions["lba.refs"])
    app.extensions[EXTENSION] = index
    app.extensions["lba.resolver"] = index.resolve


def get_metier_resolver() -> MetierIndex:
    """The métier index of the running app."""
    return current_app.extensions[EXTENSION]


def resolve_romes(q: str, limit: int = 10) -> list[RomeMatch]:
    """The ROME code families the free text `q` means, best first (for the match service)."""
    return get_metier_resolver().resolve(q, limit)
