"""The embedded engine's posting columns: shared by processes, reloaded after writes and swaps, versioned."""
from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from app.search.columns import CELL_BITS, Postings, PostingWriter
from app.search.contract import EngineUnavailable, MatchQuery
from app.search.embedded import EmbeddedEngine
from tests.factories import make_documents
from tests.search.test_engine_contract import CODE_POOL, _publish_all

TODAY = date.today()


def _ids(engine: EmbeddedEngine, query: MatchQuery) -> set[str]:
    return {h.id for h in engine.search(query).hits}


@pytest.fixture
def docs(refs):
    return make_documents(refs, 900, seed=3, codes=CODE_POOL, today=TODAY)


def test_writer_sorts_rows_by_code_then_cell_and_ranks_ids(tmp_path):
    writer = PostingWriter()
    # rid, rome, cell, lat, lon, x, y, z, score, diploma, contracts, source, pday, expday, apps
    rows = [(1, "B2000", 7, 1.0, 2.0, 0.1, 0.2, 0.3, 5.0, None, 1, "s", None, None, 0),
            (2, "A1000", 9, 1.0, 2.0, 0.1, 0.2, 0.3, 5.0, 4, 2, "t", 738000, 738100, 3),
            (2, "B2000", 3, 1.0, 2.0, 0.1, 0.2, 0.3, 7.0, 4, 2, "t", 738000, 738100, 3),
            (3, "A1000", 1, 1.0, 2.0, 0.1, 0.2, 0.3, 1.0, None, 1, "s", None, None, 0)]
    writer.add(rows, {1: "zz", 2: "aa", 3: "mm"})
    writer.forget([3])  # replaced later in the build: its row must not be written
    assert writer.write(tmp_path / "g.cols", max_rid=3) == 3
    postings = Postings.load(tmp_path / "g.cols")
    codes = postings.codes
    names = {number: code for code, number in codes.items()}
    decoded = [(names[int(k) >> CELL_BITS], int(k) & ((1 << CELL_BITS) - 1), int(r))
               for k, r in zip(postings.cols["key"], postings.cols["rid"])]
    assert decoded == sorted([("B2000", 7, 1), ("A1000", 9, 2), ("B2000", 3, 2)], key=lambda t: (codes[t[0]], t[1]))
    assert dict(zip(postings.cols["rid"].tolist(), postings.cols["idrank"].tolist())) == {2: 0, 1: 2}
    b_rows = postings.rows(["B2000"], [(0, 5)])
    assert [decoded[i] for i in b_rows.tolist()] == [("B2000", 3, 2)]
    both = postings.rows(["B2000", "A1000"], None)
    assert [decoded[i][0] for i in both.tolist()] == ["B2000", "B2000", "A1000"]  # asked order kept
    assert postings.rows(["Z9999"], None).tolist() == []
    # A document added later slots between the built ones by id: "bb" after "aa", before "zz".
    live = postings.live([(9, "A1000", 9, 1.0, 2.0, 0.1, 0.2, 0.3, 2.0, None, 1, "new", None, None, 0)], {9: "bb"})
    assert 0 < live.cols["idrank"][0] < 2 and live.sources[-1] == "new" and live.max_rid == 9


def test_another_process_sees_live_writes_and_new_generations(tmp_path, docs):
    writer, reader = EmbeddedEngine(tmp_path / "index"), EmbeddedEngine(tmp_path / "index")
    _publish_all(writer, docs)
    offer = next(d for d in docs if d["kind"] == "offer" and d["expires_at"] >= TODAY.isoformat())
    here = MatchQuery(romes=tuple(offer["rome_index_codes"][:1]), latitude=offer["location"]["lat"],
                      longitude=offer["location"]["lon"], radius_km=2, kinds=("offer",))
    assert offer["id"] in _ids(reader, here)
    writer.delete("offer", [offer["id"]])
    assert offer["id"] not in _ids(reader, here)
    writer.upsert("offer", [dict(offer, id="nouvelle-offre")])
    assert "nouvelle-offre" in _ids(reader, here)
    with writer.new_generation("offer") as builder:
        builder.add([offer])
    assert _ids(reader, here) == {offer["id"]}
    assert reader.stats()["offer"]["documents"] == 1


def test_an_index_of_an_older_format_counts_as_absent(tmp_path, docs, caplog):
    engine = EmbeddedEngine(tmp_path / "index")
    _publish_all(engine, docs)
    current = tmp_path / "index" / "offer" / (tmp_path / "index" / "offer" / "CURRENT").read_text().strip()
    with sqlite3.connect(current) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'format'")
    fresh = EmbeddedEngine(tmp_path / "index")
    assert fresh.stats()["offer"]["documents"] == 0
    assert fresh.stats()["company"]["documents"] > 0
    assert "rebuild it" in caplog.text


def test_missing_columns_make_the_engine_unavailable_not_wrong(tmp_path, docs):
    import shutil

    engine = EmbeddedEngine(tmp_path / "index")
    _publish_all(engine, docs)
    folder = tmp_path / "index" / "company"
    shutil.rmtree(next(folder.glob("*.cols")))
    fresh = EmbeddedEngine(tmp_path / "index")
    with pytest.raises(EngineUnavailable, match="posting columns"):
        fresh.search(MatchQuery(romes=("D1102",), kinds=("company",)))
    assert fresh.health() is False


def test_failed_and_replaced_builds_leave_no_columns_behind(tmp_path, docs):
    engine = EmbeddedEngine(tmp_path / "index")
    for _ in range(3):
        _publish_all(engine, docs)
    with pytest.raises(RuntimeError):
        with engine.new_generation("offer") as builder:
            builder.add(d for d in docs if d["kind"] == "offer")
            raise RuntimeError("boom")
    for kind in ("formation", "offer", "company"):
        folder = tmp_path / "index" / kind
        stems = sorted(p.name.split(".")[0] for p in folder.glob("*.sqlite"))
        assert sorted(p.name.split(".")[0] for p in folder.glob("*.cols")) == stems
        assert len(stems) == 2 and not list(folder.glob("*.building"))
