"""The métier index's semantic side: fiche vectors, their rows per target and entry, and cosine fusion weights."""
from __future__ import annotations

import warnings

import numpy as np

from app.metiers.embeddings import Embedder, VectorStore, uses_torch
from app.metiers.entries import Entry
from app.referentials.rome import Rome
from ranking.resolve_weights import ResolveWeights


def matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """matrix @ vector on the embedder's single torch thread when torch is loaded already.

    numpy's OpenBLAS would start its own thread pool for this small product; its spinning threads then
    compete with the next query's forward pass for the same cores and slow both several times over.
    The torch-free backends get numpy's product on the memory-mapped rows.
    """
    if not uses_torch():
        return np.asarray(matrix @ vector, dtype=np.float32)
    import torch

    with warnings.catch_warnings():
        # The mapped vectors are read-only; torch warns about tensors it could write, mv only reads.
        warnings.simplefilter("ignore", UserWarning)
        return torch.mv(torch.from_numpy(np.asarray(matrix)), torch.from_numpy(vector)).numpy()


def fiche_vectors(embedder: Embedder, store: VectorStore | None, texts: list[str],
                  referential_version: str) -> np.ndarray:
    """One vector per fiche document: from the store (built there once per version) or embedded now."""
    if store is not None:
        return store.load_or_build(embedder, texts, referential_version)
    return embedder.encode_passages(texts)


def target_documents(codes: list[str], targets: list[tuple[str, str]]) -> np.ndarray:
    """Per (code, parent) target, the row of its fiche: the product runs over the mapped fiche rows."""
    row = {code: i for i, code in enumerate(codes)}
    return np.asarray([row[code] for code, _ in targets], dtype=np.int32)


def document_entries(codes: list[str], entries: list[Entry], rome: Rome) -> np.ndarray:
    """Per fiche row, the entry showing it in autocomplete's semantic fallback (-1 for none).

    A fiche is shown through its main title, or else its label entry.
    """
    row = {code: i for i, code in enumerate(codes)}
    doc_entry = np.full(len(codes), -1, dtype=np.int32)
    for i, entry in enumerate(entries):
        if entry.kind in ("appellation", "rome") and len(entry.targets) == 1:
            r = row[entry.targets[0][0]]
            if doc_entry[r] < 0 or (entry.kind == "appellation" and
                                    rome.appellations[entry.appellation_code].principal):
                doc_entry[r] = i
    return doc_entry


def semantic_share(weights: ResolveWeights, best_lexical: float) -> float:
    """How much the semantic side counts, given how well the typed words were found (0-1+)."""
    w = weights
    confidence = min(1.0, max(0.0, best_lexical))
    return w.semantic_max - (w.semantic_max - w.semantic_min) * confidence


def normalise_cosines(weights: ResolveWeights, cosines: np.ndarray) -> np.ndarray:
    """Cosines stretched onto 0-1 between the weights' floor and ceiling."""
    w = weights
    return np.clip((cosines - w.semantic_floor) / (w.semantic_ceiling - w.semantic_floor), 0.0, 1.0)
