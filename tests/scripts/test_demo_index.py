"""Demo pipeline: generated files indexed into a real embedded engine, generate-if-missing, failed builds discarded."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ijson
import pytest

from app.referentials import Referentials
from app.search.contract import MatchQuery
from app.search.embedded import EmbeddedEngine
from scripts import demo_data, demo_index as demo

TODAY = date(2026, 9, 1)
TINY = {"companies": 400, "offers": 300, "formations": 150}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, refs: Referentials) -> Path:
    out = tmp_path_factory.mktemp("demo") / "tiny"
    demo_data.generate(refs, out, "small", seed=3, today=TODAY, counts=TINY)
    return out


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[EmbeddedEngine]:
    built = EmbeddedEngine(tmp_path / "index")
    yield built
    built.close()


def test_index_demo_builds_three_indexes_with_only_the_planned_rejections(
        demo_dir: Path, refs: Referentials, engine: EmbeddedEngine) -> None:
    manifest = demo.read_manifest(demo_dir)
    results = demo.index_demo(engine, refs, demo_dir)
    assert set(results) == {"offer", "formation", "company"}
    published = engine.stats()
    for kind, (key, _) in demo.SOURCES.items():
        stats = results[kind]
        expected = manifest["expected_rejections"][key]
        assert stats.read == TINY[key]
        assert dict(stats.rejected) == expected, kind
        assert stats.indexed == TINY[key] - sum(expected.values())
        assert published[kind]["documents"] == stats.indexed
        assert stats.seconds > 0


def test_indexed_demo_answers_a_search(demo_dir: Path, refs: Referentials, engine: EmbeddedEngine) -> None:
    demo.index_demo(engine, refs, demo_dir)
    # The 200 parent codes with the most hirings cover most generated documents.
    totals: dict[str, int] = {}
    for (rome, _), count in refs.naf.hirings.items():
        totals[rome] = totals.get(rome, 0) + count
    codes = tuple(sorted(totals, key=lambda rome: -totals[rome])[:200])
    everywhere = engine.search(MatchQuery(romes=codes, include_expired=True, page_size=None))
    assert all(everywhere.totals[kind] > 0 for kind in ("company", "offer", "formation"))
    # Each document is found where it is, by its own codes.
    for kind in ("company", "offer", "formation"):
        hit = next(h for h in everywhere.hits if h.kind == kind)
        doc = engine.get_many(kind, [hit.id])[hit.id]
        near = engine.search(MatchQuery(romes=tuple(doc["romes"]), latitude=doc["location"]["lat"],
                                        longitude=doc["location"]["lon"], radius_km=5, kinds=(kind,),
                                        include_expired=True, page_size=None))
        found = {h.id: h.distance_km for h in near.hits}
        assert found[hit.id] == pytest.approx(0.0, abs=1e-6)


def test_a_broken_file_keeps_the_published_index(tmp_path: Path, demo_dir: Path, refs: Referentials,
                                                 engine: EmbeddedEngine) -> None:
    first = demo.index_file(engine, refs, "formation", demo_dir / demo.FILES["formations"])
    before = engine.stats()["formation"]
    truncated = tmp_path / "catalogue.json"
    truncated.write_bytes((demo_dir / demo.FILES["formations"]).read_bytes()[:20_000])
    with pytest.raises(ijson.JSONError):
        demo.index_file(engine, refs, "formation", truncated)
    after = engine.stats()["formation"]
    assert after["generation"] == before["generation"]
    assert after["documents"] == first.indexed


def test_ensure_demo_data_reuses_matching_files(tmp_path: Path, refs: Referentials,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    real = demo_data.generate

    def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append((args[2], args[3]))
        return real(*args, **{**kwargs, "counts": TINY})

    # Tiny counts make the generated files "incomplete" for the small scale; pretend they are not.
    monkeypatch.setattr(demo_data, "generate", counting)
    monkeypatch.setattr(demo_data, "scale_counts", lambda scale, counts=None: dict(TINY))
    out = demo.ensure_demo_data(refs, tmp_path, "small", seed=5, today=TODAY)
    assert out == tmp_path / "small" and (out / demo.MANIFEST).is_file()
    assert demo.ensure_demo_data(refs, tmp_path, "small", seed=5, today=TODAY) == out
    assert calls == [("small", 5)]  # second call reused the files
    demo.ensure_demo_data(refs, tmp_path, "small", seed=6, today=TODAY)
    assert calls == [("small", 5), ("small", 6)]  # another seed regenerates
    (out / demo.FILES["companies"]).unlink()
    demo.ensure_demo_data(refs, tmp_path, "small", seed=6, today=TODAY)
    assert len(calls) == 3  # a missing file regenerates
    assert demo.is_current(out, "small", 6, TODAY) and not demo.is_current(out, "national", 6, TODAY)
    # A week and a day later the offers are getting old: the files are regenerated.
    assert not demo.is_current(out, "small", 6, TODAY + timedelta(days=demo.MAX_AGE_DAYS + 1))
