"""`lba ranking evaluate|compare` on a small demo index: CI refuses a deliberately worse weights file."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.referentials import Referentials
from app.search.embedded import EmbeddedEngine
from ranking.judged import load_judgements
from scripts import demo_data, demo_index
from scripts.cli import main
from tests.search.opensearch import drop_prefix, new_engine, session_node

ROOT = Path(__file__).resolve().parents[2]
FREE_TEXT = ROOT / "ranking" / "judgements" / "free_text.csv"
SHIPPED = ROOT / "ranking" / "weights.toml"
WORSE = ROOT / "ranking" / "examples" / "worse.toml"


@pytest.fixture(scope="module")
def demo_index_dir(tmp_path_factory: pytest.TempPathFactory, refs: Referentials) -> Path:
    """The small demo scale (the judged set's own data), indexed into a fresh embedded engine."""
    root = tmp_path_factory.mktemp("ranking-demo")
    demo_data.generate(refs, root / "demo", "small", seed=42, today=date.today())
    engine = EmbeddedEngine(root / "index")
    demo_index.index_demo(engine, refs, root / "demo")
    engine.close()
    return root / "index"


def _invoke(args: list[str], index: Path, **kwargs):
    return CliRunner().invoke(main, args, env={"LBA_INDEX_DIR": str(index), "SEARCH_ENGINE": "embedded"}, **kwargs)


def test_compare_fails_the_worse_weights_against_the_shipped_ones(demo_index_dir: Path) -> None:
    result = _invoke(["ranking", "compare", str(SHIPPED), str(WORSE)], demo_index_dir)
    print(result.output)  # the note in the CI log
    assert result.exit_code == 1, result.output
    assert "FAIL: the candidate loses" in result.output
    assert "sign test p" in result.output and "losses:" in result.output


def test_compare_of_the_shipped_weights_with_themselves_passes(demo_index_dir: Path) -> None:
    result = _invoke(["ranking", "compare", str(SHIPPED), str(SHIPPED)], demo_index_dir)
    assert result.exit_code == 0, result.output
    assert "wins 0, losses 0, ties 66" in result.output


def test_evaluate_prints_every_metric(demo_index_dir: Path) -> None:
    result = _invoke(["ranking", "evaluate", "--weights", str(SHIPPED), "--engine", "embedded", "--json"],
                     demo_index_dir)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["queries"] == 66
    assert set(summary) >= {"ndcg@10", "mrr", "precision@10", "coverage"}
    assert 0 < summary["ndcg@10"] <= 1 and set(summary["coverage"]) == {"company", "formation", "offer"}


def test_a_malformed_weights_file_is_refused_with_its_line(demo_index_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("distance = 0.3\ntext = = 2\n")
    result = _invoke(["ranking", "evaluate", "--weights", str(bad)], demo_index_dir)
    assert result.exit_code == 1 and "line 2" in result.output


def test_free_text_judged_queries_are_resolved_as_the_api_resolves_them(demo_index_dir: Path) -> None:
    result = _invoke(["ranking", "evaluate", "--weights", str(SHIPPED), "--judgements", str(FREE_TEXT), "--json"],
                     demo_index_dir)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["queries"] == len(load_judgements(FREE_TEXT)) == 12
    assert summary["ndcg@10"] > 0  # text queries found judged results: the résolveur ran


def test_compare_runs_free_text_queries_too(demo_index_dir: Path) -> None:
    result = _invoke(["ranking", "compare", str(SHIPPED), str(WORSE), "--judgements", str(FREE_TEXT),
                      "--threshold", "1"], demo_index_dir)
    assert result.exit_code == 0, result.output
    assert "baseline" in result.output and "12 queries" in result.output


def test_a_text_meaning_no_job_names_its_query(demo_index_dir: Path, tmp_path: Path) -> None:
    judged = tmp_path / "nonsense.csv"
    judged.write_text("query_id,q,romes,insee,latitude,longitude,radius,kinds,judgements,note\n"
                      "z1,zzqxw vvbnk,,75056,,,30,,kind=offer => 2,\n", encoding="utf-8")
    result = _invoke(["ranking", "evaluate", "--weights", str(SHIPPED), "--judgements", str(judged)], demo_index_dir)
    assert result.exit_code == 1 and "query z1" in result.output, result.output


# ----- `lba judge`: grades of a live search appended as id rules --------------------------------------

def test_judge_appends_graded_results_that_evaluate_reads_back(demo_index_dir: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.csv"
    args = ["judge", "--romes", "G1803", "--insee", "75056", "--radius", "30", "--judgements", str(team),
            "--grade", "1=3,2=1,4=0"]
    result = _invoke(args, demo_index_dir)
    assert result.exit_code == 0, result.output
    assert "  1. [" in result.output and "j001: 3 judgements appended" in result.output
    shown_ids = [line.rsplit("(id ", 1)[1].rstrip(")") for line in result.output.splitlines() if "(id " in line]
    (query,) = load_judgements(team)
    assert query.query_id == "j001" and query.params == {"romes": "G1803", "insee": "75056", "radius": "30"}
    first = {"kind": query.rules[0].conditions[0].value, "id": shown_ids[0]}
    assert query.grade(first) == 3 and query.rules[0].conditions[1].value == shown_ids[0]
    assert sorted(rule.grade for rule in query.rules) == [0, 1, 3]
    # A second judged query gets the next id; the file stays one header and two rows, readable by evaluate.
    again = _invoke(args[:-2] + ["--grade", "2=2"], demo_index_dir)
    assert again.exit_code == 0 and "j002" in again.output, again.output
    assert [q.query_id for q in load_judgements(team)] == ["j001", "j002"]
    assert team.read_text(encoding="utf-8").count("query_id,") == 1
    evaluated = _invoke(["ranking", "evaluate", "--weights", str(SHIPPED), "--judgements", str(team), "--json"],
                        demo_index_dir)
    assert evaluated.exit_code == 0, evaluated.output
    # The same search under the same weights: result 1 (grade 3) is first again, so MRR is 1 for j001.
    assert json.loads(evaluated.output)["mrr"] >= 0.5


def test_judge_asks_each_grade_when_none_is_given(demo_index_dir: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.csv"
    result = _invoke(["judge", "--q", "serveur", "--insee", "69123", "--judgements", str(team), "--size", "3",
                      "--query-id", "lyon-serveur"], demo_index_dir, input="3\n\n2\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("grade of") == 3
    (query,) = load_judgements(team)
    assert query.query_id == "lyon-serveur" and query.params["q"] == "serveur"
    assert sorted(rule.grade for rule in query.rules) == [2, 3]


def test_judge_refuses_a_bad_grade_and_writes_nothing(demo_index_dir: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.csv"
    result = _invoke(["judge", "--romes", "G1803", "--insee", "75056", "--judgements", str(team),
                      "--grade", "1=5"], demo_index_dir)
    assert result.exit_code == 2 and "grade 0-3" in result.output
    assert not team.exists()


# ----- the OpenSearch path: the same commands on the shared node ----------------------------------------

@pytest.fixture(scope="module")
def opensearch_demo(tmp_path_factory: pytest.TempPathFactory, refs: Referentials):
    """The small demo indexed into the session's OpenSearch node, on a prefix of its own."""
    nodes = session_node()
    url = next(nodes)
    engine = new_engine(url)
    root = tmp_path_factory.mktemp("ranking-demo-os")
    demo_data.generate(refs, root / "demo", "small", seed=42, today=date.today())
    demo_index.index_demo(engine, refs, root / "demo")
    engine.close()
    yield {"SEARCH_ENGINE": "opensearch", "SEARCH_URL": url, "SEARCH_INDEX_PREFIX": engine.prefix}
    drop_prefix(url, engine.prefix)
    nodes.close()


def test_compare_on_opensearch_fails_the_worse_weights(opensearch_demo: dict, demo_index_dir: Path) -> None:
    runner = CliRunner()
    on_os = runner.invoke(main, ["ranking", "compare", str(SHIPPED), str(WORSE), "--engine", "opensearch"],
                          env=opensearch_demo)
    print(on_os.output)
    assert on_os.exit_code == 1 and "FAIL: the candidate loses" in on_os.output, on_os.output
    # Same data, same weights: both engines give the same metrics (the engines' parity, seen by the lab).
    evaluated = {name: json.loads(runner.invoke(main, ["ranking", "evaluate", "--weights", str(SHIPPED), "--json"],
                                                env=env).output)
                 for name, env in (("opensearch", opensearch_demo),
                                   ("embedded", {"LBA_INDEX_DIR": str(demo_index_dir), "SEARCH_ENGINE": "embedded"}))}
    assert evaluated["opensearch"]["queries"] == 66
    assert evaluated["opensearch"]["ndcg@10"] == pytest.approx(evaluated["embedded"]["ndcg@10"], abs=1e-6)


def test_judge_on_opensearch(opensearch_demo: dict, tmp_path: Path) -> None:
    team = tmp_path / "team.csv"
    result = CliRunner().invoke(main, ["judge", "--romes", "M1607", "--insee", "67482", "--judgements", str(team),
                                       "--grade", "1=3"], env=opensearch_demo)
    assert result.exit_code == 0, result.output
    assert load_judgements(team)[0].rules[0].grade == 3


# ----- `lba ranking usage`: click-through by rank and kind from the usage counters --------------------------

def test_usage_report_prints_click_through_by_position_and_kind(store_url: str) -> None:
    from app.services.usage import UsageCounters
    from app.store import get_store

    days = iter([date(2026, 3, 1)] * 3 + [date(2026, 3, 10)] * 100)
    usage = UsageCounters(get_store(store_url), lambda: next(days), flush_seconds=0)
    usage.record("search", "api", n=5)  # before --since
    usage.record("click", "site", "offer", 1, n=9)  # before --since
    usage.record("impression", "site", "offer", 1, n=1)  # before --since
    for _ in range(4):
        usage.record_search("site", [{"kind": "offer"}, {"kind": "company"}])
    usage.record("click", "site", "offer", 1, n=2)
    usage.record("click", "site", "company", 2)
    usage.record("application", "site", "company", 2)
    usage.record("application", "api", "offer", 0)
    result = CliRunner().invoke(main, ["ranking", "usage", "--since", "2026-03-05"], env={"DATABASE_URL": store_url})
    print(result.output)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "searches: site 4"
    rows = {tuple(line.split()[:3]): line.split()[3:] for line in lines[2:]}
    assert rows[("site", "offer", "1")] == ["4", "2", "50.0%", "0", "0"]
    assert rows[("site", "company", "2")] == ["4", "1", "25.0%", "1", "0"]
    assert rows[("api", "offer", "?")] == ["0", "0", "-", "1", "0"]
    everything = CliRunner().invoke(main, ["ranking", "usage"], env={"DATABASE_URL": store_url})
    assert everything.output.splitlines()[0] == "searches: api 5, site 4"


def test_judge_reads_a_running_service_through_its_url(demo_index_dir: Path, settings, tmp_path: Path) -> None:
    """`--url`: the results come from a running service's /api/v1/match, numbered as it ranks them."""
    import threading
    from dataclasses import replace

    import requests
    from werkzeug.serving import make_server

    from app.factory import create_app
    from app.search.embedded import EmbeddedEngine as Engine
    from app.store import upgraded_store

    url = f"sqlite:///{tmp_path / 'lba.sqlite'}"
    upgraded_store(url)
    engine = Engine(demo_index_dir)
    app = create_app(replace(settings, database_url=url, ratelimit_path=str(tmp_path / "rl.sqlite"),
                             anonymous_rate=100000, embedding_model="none"), engine=engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        team = tmp_path / "team.csv"
        result = CliRunner().invoke(main, ["judge", "--url", base, "--romes", "G1803", "--insee", "75056",
                                           "--judgements", str(team), "--grade", "2=3"])
        assert result.exit_code == 0, result.output
        served = requests.get(f"{base}/api/v1/match", params={"romes": "G1803", "insee": "75056", "radius": 30,
                                                              "page_size": 10}, timeout=30).json()["items"]
        (query,) = load_judgements(team)
        assert query.grade({"kind": served[1]["kind"], "id": served[1]["id"]}) == 3
        assert query.grade({"kind": served[0]["kind"], "id": served[0]["id"]}) == 0
        refused = CliRunner().invoke(main, ["judge", "--url", base, "--romes", "ZZ999", "--insee", "75056",
                                            "--judgements", str(team), "--grade", "1=3"])
        assert refused.exit_code == 1 and "400" in refused.output
    finally:
        server.shutdown()
        thread.join(10)
        engine.close()
