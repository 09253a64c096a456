"""Métier indexes for the tests: lexical-only (fast) and the full app index with the embedding model."""
from __future__ import annotations

import pytest

from app.metiers import MetierIndex, get_metier_index
from app.metiers.synonyms import load_synonyms


@pytest.fixture(scope="session")
def lexical_index(refs) -> MetierIndex:
    return MetierIndex(refs.rome, load_synonyms(refs.rome.codes), communes=refs.communes)


@pytest.fixture(scope="session")
def full_index(settings, refs) -> MetierIndex:
    # The app's own index: vectors come from the LBA_EMBEDDINGS_DIR cache, computed once per machine.
    return get_metier_index(settings, refs)
