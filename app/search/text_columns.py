"""Per-document word columns of the embedded engine: BM25 computed with numpy over the candidates only.

FTS5 scores a query by walking the doclists of its words over the whole index (every document
of France containing "aide") before the geo + job filter can cut anything, and its bm25() reads
each matching row again. Here each generation stores, beside its posting columns, every
document's words as ids into a sorted vocabulary (CSR: `text_offsets` by rid, `text_tokens`)
and each word's document frequency. A query turns its words into id ranges of the vocabulary (a
prefix is a contiguous range of a sorted vocabulary), gathers the tokens of its candidates only
and computes BM25 in a few vectorised passes: the cost follows the candidates, not France.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.search.text import MIN_PREFIX_CHARS, MIN_WORD_CHARS, fold, stopwords

#: Lucene's and FTS5's usual BM25 constants.
BM25_K1 = 1.2
BM25_B = 0.75
#: Candidates scored per vectorised pass; the deadline is checked between passes.
CHUNK = 20000


def document_words(text: str) -> list[str]:
    """The words of a document as they are indexed: folded, split like queries, stop words left out."""
    stop = stopwords()
    return [w for w in re.split(r"[^a-z0-9]+", fold(text)) if len(w) >= MIN_WORD_CHARS and w not in stop]


class TextWriter:
    """Collects each document's words during a build, then writes the vocabulary and the CSR columns."""

    def __init__(self) -> None:
        self._vocab: dict[str, int] = {}  # word → provisional id, in first-seen order
        self._rids: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._tokens: list[np.ndarray] = []
        self._pending_rids: list[int] = []
        self._pending_lengths: list[int] = []
        self._pending_tokens: list[int] = []

    def add(self, rid: int, text: str) -> None:
        """The words of document `rid` (a later call for the same rid is not expected)."""
        vocab = self._vocab
        ids = [vocab.setdefault(word, len(vocab)) for word in document_words(text)]
        self._pending_rids.append(rid)
        self._pending_lengths.append(len(ids))
        self._pending_tokens.extend(ids)
        if len(self._pending_tokens) > 1_000_000:
            self._flush()

    def _flush(self) -> None:
        if self._pending_rids:
            self._rids.append(np.asarray(self._pending_rids, dtype=np.int64))
            self._lengths.append(np.asarray(self._pending_lengths, dtype=np.int64))
            self._tokens.append(np.asarray(self._pending_tokens, dtype=np.int32))
        self._pending_rids, self._pending_lengths, self._pending_tokens = [], [], []

    def write(self, folder: Path, max_rid: int, live_rids: Iterable[int]) -> None:
        """Write the text columns of the documents in `live_rids` (others were replaced) into `folder`."""
        self._flush()
        rids = np.concatenate(self._rids) if self._rids else np.empty(0, np.int64)
        lengths = np.concatenate(self._lengths) if self._lengths else np.empty(0, np.int64)
        tokens = np.concatenate(self._tokens) if self._tokens else np.empty(0, np.int32)
        words = sorted(self._vocab)
        remap = np.empty(max(len(words), 1), dtype=np.int32)
        remap[np.fromiter((self._vocab[w] for w in words), dtype=np.int64, count=len(words))] = \
            np.arange(len(words), dtype=np.int32)
        tokens = remap[tokens] if len(tokens) else tokens
        starts = np.cumsum(lengths) - lengths
        keep = np.zeros(max_rid + 2, dtype=bool)
        keep[np.fromiter(live_rids, dtype=np.int64)] = True
        kept = np.flatnonzero(keep[rids])
        kept = kept[np.argsort(rids[kept], kind="stable")]
        rids_k, starts_k, lengths_k = rids[kept], starts[kept], lengths[kept]
        doc_lengths = np.zeros(max_rid + 2, dtype=np.int64)
        doc_lengths[rids_k] = lengths_k
        offsets = np.zeros(max_rid + 3, dtype=np.int64)
        offsets[1:] = np.cumsum(doc_lengths)
        total = int(lengths_k.sum())
        gather = np.repeat(starts_k - (np.cumsum(lengths_k) - lengths_k), lengths_k) + np.arange(total, dtype=np.int64)
        out_tokens = tokens[gather] if total else np.empty(0, np.int32)
        # Document frequency: distinct (document, word) pairs counted per word.
        size = max(len(words), 1)
        pairs = np.unique(np.repeat(rids_k, lengths_k) * size + out_tokens.astype(np.int64))
        df = np.bincount(pairs % size, minlength=size)
        docs = len(rids_k)
        np.save(folder / "text_offsets.npy", offsets)
        np.save(folder / "text_tokens.npy", out_tokens)
        np.save(folder / "text_df.npy", df[:len(words)])
        np.save(folder / "text_vocab.npy", np.array([w.encode() for w in words] or [b""], dtype=np.bytes_))
        (folder / "text_meta.json").write_text(json.dumps({
            "documents": docs, "avg_length": float(doc_lengths.sum() / docs) if docs else 0.0,
            "words": len(words)}))


@dataclass(frozen=True)
class TextColumns:
    """One generation's word columns, memory-mapped read-only."""

    offsets: np.ndarray
    tokens: np.ndarray
    df: np.ndarray
    vocab: np.ndarray
    documents: int
    avg_length: float

    @classmethod
    def load(cls, folder: Path) -> "TextColumns":
        meta = json.loads((folder / "text_meta.json").read_text())

        def load(name: str) -> np.ndarray:
            return np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray)

        vocab = load("text_vocab")
        return cls(load("text_offsets"), load("text_tokens"), load("text_df"),
                   vocab[:int(meta["words"])], int(meta["documents"]), float(meta["avg_length"]))

    def ranges(self, words: Sequence[str]) -> list[tuple[int, int]]:
        """Per query word, the [first, last) ids of the vocabulary it matches: a prefix, or the word itself."""
        out = []
        for word in words:
            key = word.encode()
            lo = int(np.searchsorted(self.vocab, key, side="left"))
            if len(word) >= MIN_PREFIX_CHARS:
                hi = int(np.searchsorted(self.vocab, key + b"\xff", side="left"))
            else:
                hi = lo + 1 if lo < len(self.vocab) and self.vocab[lo] == key else lo
            out.append((lo, hi))
        return out

    def idf(self, ranges: Sequence[tuple[int, int]]) -> list[float]:
        """BM25 inverse document frequency of each word (a prefix counts the documents of its words)."""
        n = max(self.documents, 1)
        out = []
        for lo, hi in ranges:
            df = min(int(self.df[lo:hi].sum()), n)
            out.append(math.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        return out

    def scores(self, rids: np.ndarray, words: Sequence[str], deadline_passed) -> np.ndarray:
        """BM25 of each document of `rids` (base documents; others score 0) for `words`.

        `deadline_passed()` is checked between chunks of CHUNK candidates; the rest keep 0.
        """
        out = np.zeros(len(rids))
        ranges = [r for r in self.ranges(words)]
        idf = self.idf(ranges)
        useful = [(lo, hi, w) for (lo, hi), w in zip(ranges, idf) if hi > lo]
        if not useful or not len(rids):
            return out
        inside = rids < len(self.offsets) - 1
        for first in range(0, len(rids), CHUNK):
            if first and deadline_passed():
                break
            part = np.flatnonzero(inside[first:first + CHUNK]) + first
            sel = rids[part]
            starts = self.offsets[sel]
            lengths = self.offsets[sel + 1] - starts
            total = int(lengths.sum())
            if not total:
                continue
            # Concatenated token slices of the candidates, and the candidate each token belongs to.
            gather = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total, dtype=np.int64)
            tokens = self.tokens[gather]
            owner = np.repeat(np.arange(len(sel)), lengths)
            norm = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths / max(self.avg_length, 1e-9))
            score = np.zeros(len(sel))
            for lo, hi, weight in useful:
                hit = (tokens >= lo) & (tokens < hi)
                if not hit.any():
                    continue
                tf = np.bincount(owner[hit], minlength=len(sel)).astype(np.float64)
                score += weight * tf * (BM25_K1 + 1.0) / (tf + norm)
            out[part] = score
        return out


def live_scores(texts: Sequence[list[str]], words: Sequence[str], columns: TextColumns | None) -> np.ndarray:
    """BM25 of documents added after the build (their words in Python), with the base's statistics."""
    out = np.zeros(len(texts))
    if columns is None or not words:
        return out
    idf = columns.idf(columns.ranges(words))
    for position, doc_words in enumerate(texts):
        norm = BM25_K1 * (1.0 - BM25_B + BM25_B * len(doc_words) / max(columns.avg_length, 1e-9))
        score = 0.0
        for word, weight in zip(words, idf):
            if len(word) >= MIN_PREFIX_CHARS:
                tf = sum(1 for w in doc_words if w.startswith(word))
            else:
                tf = sum(1 for w in doc_words if w == word)
            if tf:
                score += weight * tf * (BM25_K1 + 1.0) / (tf + norm)
        out[position] = score
    return out
