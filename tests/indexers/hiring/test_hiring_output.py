"""Per-ROME split, scores and thresholds, exclusions, and the recruiters file read back by the real importer."""
from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from app.referentials import Referentials
from app.search.geo import distance_km
from indexers import ImportStats
from indexers.hiring.input_files import read_companies
from indexers.hiring.output import (
    MAX_ROMES,
    MIN_ROME_SCORE,
    OutputStats,
    company_romes,
    exclusion_reasons,
    normalized_score,
    recruiter_items,
    rome_pairs,
    rome_score,
    split_by_rome,
    write_recruiters,
)
from indexers.recruiters import iter_documents, rome_score as importer_score
from tests.indexers.hiring.conftest import company, siret, write_files

AS_OF = date(2026, 11, 28)


def test_split_follows_the_rome_naf_hiring_shares(refs: Referentials) -> None:
    split = split_by_rome(2.0, "1071C", refs)
    counts = refs.naf.romes_of_naf["1071C"]
    assert sum(split.values()) == pytest.approx(2.0)
    assert set(split) == set(counts)
    assert split["D1102"] == pytest.approx(2.0 * counts["D1102"] / sum(counts.values()))
    assert max(split, key=split.get) == "D1102"  # bakers first in a bakery
    assert split_by_rome(2.0, "0000Z", refs) == {}


def test_vectorised_pairs_match_the_per_company_split(refs: Referentials) -> None:
    nafs = np.array(["1071C", "5610C", "1071C"])
    pairs = rome_pairs(nafs, refs, np.array([0, 1]))
    assert set(pairs.company.tolist()) == {0, 1}
    for row, naf in ((0, "1071C"), (1, "5610C")):
        mine = {pairs.codes[r]: s for c, r, s in zip(pairs.company, pairs.rome, pairs.share) if c == row}
        assert mine == pytest.approx(refs.naf.rome_shares(naf))


def test_score_is_the_chance_of_at_least_one_hire() -> None:
    assert rome_score(0.0) == 0.0
    assert rome_score(math.log(2)) == pytest.approx(50.0)
    assert rome_score(math.log(10)) == pytest.approx(90.0)
    assert rome_score(50.0) == 100.0


def test_threshold_and_cap_on_romes(refs: Referentials) -> None:
    romes = company_romes(3.0, "1071C", refs)
    scores = [score for _, score in romes]
    assert scores == sorted(scores, reverse=True) and all(score >= MIN_ROME_SCORE for score in scores)
    # D1502 has ~0.7 % of a bakery's hirings: 3 × 0.007 = 0.02 expected hires, a 2 % chance, left out.
    assert "D1502" not in dict(romes) and romes[0][0] == "D1102"
    assert company_romes(0.01, "1071C", refs) == []
    many = company_romes(500.0, "4711D", refs)  # a hypermarket: dozens of ROME codes mapped
    assert len(refs.naf.romes_of_naf["4711D"]) > MAX_ROMES and len(many) == MAX_ROMES


@pytest.mark.parametrize("score", [MIN_ROME_SCORE, 33.33, 50.0, 87.12, 99.99, 100.0])
def test_normalized_score_gives_our_score_back_through_the_importer(score: float) -> None:
    assert importer_score(normalized_score(score)) == pytest.approx(score, abs=0.005)


def test_exclusions(tmp_path: Path, refs: Referentials) -> None:
    unmapped = sorted(set(refs.naf.codes) - set(refs.naf.romes_of_naf))[0]
    rows = [company(1), company(2, closed_on="2026-11-02"), company(3, closed_on="2027-01-31"),
            company(4, opt_out="1"), company(5, name="", trade_name=""), company(6, naf=unmapped),
            company(7, closed_on="2026-11")]
    companies = read_companies(write_files(tmp_path, rows, [])[0], refs)
    assert exclusion_reasons(companies, refs, AS_OF) == ["", "closed", "", "opted out", "no name",
                                                          "no ROME for NAF", "closed"]


def test_recruiters_file_round_trips_through_the_importer(tmp_path: Path, refs: Referentials) -> None:
    rows = [
        company(1, trade_name="AU BON PAIN", email="contact@example.org", phone="0199001234"),
        company(2, naf="5610C", insee_code="2A004", postcode="20000", latitude="41.9270", longitude="8.7369",
                headcount_band="11"),  # Ajaccio: Lambert-93 too
        company(3, naf="4520A", insee_code="97411", postcode="97400", latitude="-20.8821", longitude="55.4507"),
        company(4, naf="9602A", insee_code="", postcode="", latitude="48.8530", longitude="2.3499"),
        company(5, insee_code="33063", postcode="33000", latitude="", longitude=""),  # commune centre
        company(6, opt_out="1"),
        company(7, closed_on="2026-06-30"),
        company(8),  # predicted too low
    ]
    companies = read_companies(write_files(tmp_path, rows, [])[0], refs)
    predicted = np.array([2.5, 1.2, 0.8, 3.0, 0.6, 5.0, 5.0, 0.01])
    stats = OutputStats()
    path = tmp_path / "recruteurs_lba.json"
    written = write_recruiters(path, recruiter_items(companies, predicted, refs, AS_OF, stats))
    assert written == 5 and stats.written == 5
    assert dict(stats.excluded) == {"opted out": 1, "closed": 1, "below threshold": 1}
    items = json.loads(path.read_text(encoding="utf-8"))
    assert items[0]["company_size"] == "3-5" and items[0]["enseigne"] == "AU BON PAIN"
    assert items[2]["coordonneeLambertAbscisseEtablissement"] < 1_000_000  # UTM 40S, not Lambert-93

    import_stats = ImportStats("recruteurs_lba")
    documents = list(iter_documents(path, refs, import_stats))
    assert import_stats.rejected_total == 0 and import_stats.indexed == 5
    assert [doc["id"] for doc in documents] == [siret(n) for n in (1, 2, 3, 4, 5)]
    for doc, row in zip(documents, range(5)):
        expected = dict(company_romes(float(predicted[row]), str(companies.naf[row]), refs))
        assert doc["rome_scores"] == pytest.approx(expected, abs=0.005)
        lat, lon = companies.latitude[row], companies.longitude[row]
        if not math.isnan(lat):  # projected and projected back: the same point
            assert distance_km(lat, lon, doc["location"]["lat"], doc["location"]["lon"]) < 0.001
    assert documents[3]["place"]["department"] == "75"  # located from coordinates alone
    assert documents[4]["place"]["insee"] == "33063"


def test_a_failed_or_refused_write_keeps_the_published_file(tmp_path: Path) -> None:
    path = tmp_path / "recruteurs_lba.json"
    path.write_text("[]\n")

    def broken():
        yield {"siret": "1"}
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError):
        write_recruiters(path, broken())
    assert path.read_text() == "[]\n" and list(tmp_path.iterdir()) == [path]
    assert write_recruiters(path, iter([{"siret": "1"}]), accept=lambda count: False) is None
    assert path.read_text() == "[]\n" and list(tmp_path.iterdir()) == [path]
