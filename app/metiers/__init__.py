"""Free text to ROME codes: the métier index, its construction from settings, and its place in the app."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from flask import Flask, current_app

from app.config import Settings
from app.metiers.embeddings import VectorStore, load_embedder
from app.metiers.entries import rare_appellations
from app.metiers.index import MetierIndex
from app.metiers.results import Resolution, RomeMatch, Suggestion
from app.metiers.synonyms import load_synonyms
from app.referentials import Referentials

__all__ = ["MetierIndex", "Resolution", "RomeMatch", "Suggestion", "build_metier_index", "get_metier_index",
           "get_metier_resolver", "init_app", "resolve_romes"]

EXTENSION = "lba.metiers"


def rome_version(data_dir: Path) -> str:
    """The ROME referential's version: a hash of its files (a refresh gives new index vectors)."""
    digest = hashlib.sha256()
    for path in sorted((Path(data_dir) / "rome").glob("*.csv")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_metier_index(settings: Settings, refs: Referentials) -> MetierIndex:
    """The full index: every appellation, ROME label, domain and synonym; semantic when a model loads."""
    embedder = load_embedder(settings.embedding_backend, settings.embedding_model, settings.embedding_threads)
    store = VectorStore(settings.embeddings_dir) if embedder is not None else None
    return MetierIndex(refs.rome, load_synonyms(refs.rome.codes), embedder=embedder, store=store,
                       rare=rare_appellations(refs.data_dir), referential_version=rome_version(refs.data_dir),
                       communes=refs.communes)


_indexes: dict[tuple[str, ...], MetierIndex] = {}
_lock = threading.Lock()


def get_metier_index(settings: Settings, refs: Referentials) -> MetierIndex:
    """The index for these settings and this ROME version, built once per process: apps created again
    (tests) reuse it, and a referentials refresh (a new ROME version) gets a new one."""
    options = (settings.embedding_backend, settings.embedding_model, settings.embeddings_dir,
               str(settings.embedding_threads))
    key = (str(refs.data_dir), rome_version(refs.data_dir), *options)
    with _lock:
        if key not in _indexes:
            for stale in [k for k in _indexes if k[2:] == options and k[0] == key[0]]:
                del _indexes[stale]  # an older version of the same referentials: its readers have moved on
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


def resolve_romes(q: str, limit: int = 10) -> Resolution:
    """The ROME code families the free text `q` means, best first (for the match service)."""
    return get_metier_resolver().resolve(q, limit)
