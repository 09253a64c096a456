"""The confidence floor of résolution: hostile or meaningless text resolves to no job at all."""
from __future__ import annotations

import pytest

# Inputs a hostile caller or a broken client sends; each used to resolve to some job ("' OR 1=1 --" to
# "Cariste", "%ff%fe" to a railway job).
HOSTILE = ["' OR 1=1 --", "%ff%fe", "\ufffd\ufffd", "%00", "1=1", "OR", "1234", "\x00\x00",
           "' UNION SELECT NULL --", "zzzz qqqq", "xqzwv kjhgf", "--", "a b c d e f"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_means_no_job(lexical_index, full_index, text):
    assert lexical_index.resolve(text) == []
    assert full_index.resolve(text) == []


@pytest.mark.parametrize("text, parent", [("rh", "M1503"), ("dev", "M1805"), ("boulanger", "D1102"),
                                          ("plumber", "F1603")])
def test_short_terms_and_real_words_still_resolve(full_index, text, parent):
    assert parent in [m.parent for m in full_index.resolve(text)[:5]]
