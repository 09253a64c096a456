"""`lba ranking evaluate|compare`: offline evaluation of ranking weights on the judged queries."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from app.config import ConfigError, Settings
from ranking import WeightsError, load_weights
from ranking.evaluate import compare, summarise
from ranking.judged import JudgementError, load_judgements

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JUDGEMENTS = ROOT / "ranking" / "judgements" / "starter.csv"
#: Largest drop of mean nDCG@10 a candidate may show against the baseline before `compare` fails:
#: 0.01 is about one query in sixty moving a grade-3 result from rank 1 to rank 3; smaller drops are noise.
DEFAULT_THRESHOLD = 0.01


def _service(engine_name: str | None, free_text: bool = False):
    """The match service on the configured (or named) engine, without the web app around it.

    With `free_text` it also gets the app's métier résolveur, so judged queries given as text (`q`) are
    resolved to ROME codes exactly as the API resolves them; ROME-only runs skip loading it.
    """
    from app.referentials import get_referentials
    from app.search import build_engine
    from app.services.match import MatchService
    from ranking import DEFAULT_WEIGHTS

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if engine_name:
        settings = replace(settings, search_engine=engine_name)
    refs = get_referentials(settings.data_dir)
    resolver = None
    if free_text:
        from app.metiers import get_metier_index

        resolver = get_metier_index(settings, refs).resolve
    return MatchService(build_engine(settings), refs, DEFAULT_WEIGHTS, resolver=resolver)


def _needs_text(queries) -> bool:  # type: ignore[no-untyped-def]
    """Whether some judged query is free text (`q` without `romes`)."""
    return any("q" in query.params and "romes" not in query.params for query in queries)


def _weights(path: str):
    try:
        return load_weights(path)
    except (WeightsError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def _queries(path: str):
    try:
        return load_judgements(path)
    except (JudgementError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def _run_all(service, weights, queries):  # type: ignore[no-untyped-def]
    """run_all, with a judged query the match service refuses (unknown code, text meaning no job) named."""
    from app.services.ranking_lab import QueryFailed, run_all

    try:
        return run_all(service, weights, queries)
    except QueryFailed as exc:
        raise click.ClickException(str(exc)) from None


def _print_summary(title: str, summary: dict) -> None:
    click.echo(f"{title}: {summary['queries']} queries")
    for name in ("ndcg@10", "mrr", "precision@10"):
        click.echo(f"  {name:<13} {summary[name]:.4f}")
    click.echo("  coverage      " + ", ".join(f"{kind} {share:.2f}" for kind, share in summary["coverage"].items()))


@click.group("ranking")
def ranking_group() -> None:
    """Offline evaluation of ranking weights against judged queries (ranking/judgements/README.md)."""


judgements_option = click.option("--judgements", "judgements_path", type=click.Path(exists=True, dir_okay=False),
                                 default=str(DEFAULT_JUDGEMENTS), show_default=True, help="Judged queries CSV.")
engine_option = click.option("--engine", type=click.Choice(["embedded", "opensearch"]), default=None,
                             help="Search engine (default: SEARCH_ENGINE).")


@ranking_group.command("evaluate")
@click.option("--weights", "weights_path", type=click.Path(exists=True, dir_okay=False), required=True)
@judgements_option
@engine_option
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
def evaluate_command(weights_path: str, judgements_path: str, engine: str | None, as_json: bool) -> None:
    """Print nDCG@10, MRR, precision@10 and coverage per kind of WEIGHTS on every judged query."""
    queries = _queries(judgements_path)
    runs = _run_all(_service(engine, _needs_text(queries)), _weights(weights_path), queries)
    summary = summarise(runs)
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    else:
        _print_summary(weights_path, summary)


@ranking_group.command("compare")
@click.argument("baseline", type=click.Path(exists=True, dir_okay=False))
@click.argument("candidate", type=click.Path(exists=True, dir_okay=False))
@judgements_option
@engine_option
@click.option("--threshold", type=float, default=DEFAULT_THRESHOLD, show_default=True,
              help="Fail when the candidate's mean nDCG@10 is below the baseline's by more than this.")
@click.option("--samples", type=int, default=10000, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=int, default=16, show_default=True, help="Bootstrap seed.")
def compare_command(baseline: str, candidate: str, judgements_path: str, engine: str | None, threshold: float,
                    samples: int, seed: int) -> None:
    """Compare CANDIDATE weights with BASELINE query by query; exit 1 when the candidate is worse."""
    from app.services.ranking_lab import with_shared_pool

    queries = _queries(judgements_path)
    service = _service(engine, _needs_text(queries))
    base_runs, cand_runs = with_shared_pool(_run_all(service, _weights(baseline), queries),
                                            _run_all(service, _weights(candidate), queries))
    _print_summary(f"baseline {baseline}", summarise(base_runs))
    _print_summary(f"candidate {candidate}", summarise(cand_runs))
    result = compare(base_runs, cand_runs, threshold=threshold, samples=samples, seed=seed)
    click.echo(f"nDCG@10 {result.baseline:.4f} -> {result.candidate:.4f} (delta {result.delta:+.4f}); "
               f"wins {len(result.wins)}, losses {len(result.losses)}, ties {result.ties}")
    click.echo(f"  sign test p = {result.sign_p:.4f}; paired bootstrap p(candidate not worse) = "
               f"{result.bootstrap_p_worse:.4f} ({samples} resamples, seed {seed})")
    if result.losses:
        click.echo("  losses: " + ", ".join(result.losses[:20]) + (" ..." if len(result.losses) > 20 else ""))
    if result.wins:
        click.echo("  wins: " + ", ".join(result.wins[:20]) + (" ..." if len(result.wins) > 20 else ""))
    if result.worse:
        click.echo(f"FAIL: the candidate loses {-result.delta:.4f} nDCG@10, more than the threshold {threshold:g}")
        raise SystemExit(1)
    click.echo(f"OK: the candidate is not worse than the baseline by more than {threshold:g}")


DEFAULT_TEAM_JUDGEMENTS = ROOT / "ranking" / "judgements" / "team.csv"


def _search_http(url: str, params: dict) -> dict:
    """The match API's answer from a running service (`--url`)."""
    import requests

    try:
        response = requests.get(url.rstrip("/") + "/api/v1/match", params=params, timeout=30)
    except requests.RequestException as exc:
        raise click.ClickException(f"{url}: {exc}") from None
    if response.status_code != 200:
        try:
            error = response.json().get("error", {})
            message = f"{error.get('message', '')} {error.get('details', '')}".strip()
        except ValueError:
            message = response.text[:200]
        raise click.ClickException(f"the search answered {response.status_code}: {message}")
    return response.json()


def _search_in_process(engine: str | None, params: dict) -> dict:
    """The match service's answer in this process, on the configured (or named) engine."""
    from marshmallow import ValidationError

    from app.schemas import MatchRequestSchema
    from app.services.ranking_lab import QueryFailed, run_one

    try:
        loaded = MatchRequestSchema().load_args(params)
    except ValidationError as exc:
        raise click.ClickException(f"invalid search: {exc.normalized_messages()}") from None
    service = _service(engine, free_text="q" in params and "romes" not in params)
    try:
        return run_one(service, loaded)
    except QueryFailed as exc:
        raise click.ClickException(str(exc)) from None


@click.command("judge")
@click.option("--q", "text", default="", help="Free text of the job (instead of --romes).")
@click.option("--romes", default="", help="ROME codes, comma-separated.")
@click.option("--insee", default="", help="INSEE code of the commune searched around.")
@click.option("--latitude", type=float, default=None)
@click.option("--longitude", type=float, default=None)
@click.option("--radius", type=int, default=30, show_default=True)
@click.option("--kinds", default="", help="formations, offers, companies (comma-separated; default all).")
@click.option("--url", default="", help="Base URL of a running service (its /api/v1/match); default: in-process.")
@engine_option
@click.option("--grade", "grades_text", default=None,
              help="Grades without prompting: `1=3,2=1,...` (position=grade 0-3; positions left out are unjudged).")
@click.option("--judgements", "judgements_path", type=click.Path(dir_okay=False),
              default=str(DEFAULT_TEAM_JUDGEMENTS), show_default=True, help="CSV the query is appended to.")
@click.option("--query-id", default="", help="Id of the new query (default: the next free jNNN).")
@click.option("--note", default="", help="What the query stands for (free text for people).")
@click.option("--size", type=int, default=10, show_default=True, help="Results shown and judged.")
def judge_command(text: str, romes: str, insee: str, latitude: float | None, longitude: float | None, radius: int,
                  kinds: str, url: str, engine: str | None, grades_text: str | None, judgements_path: str,
                  query_id: str, note: str, size: int) -> None:
    """Run one search, show its results numbered, grade them 0-3 and append the judged query to a CSV.

    The judgements name each graded result by kind and id (ranking/judgements/README.md), so they hold
    for this index; property rules stay the tool for judgements that survive a re-index.
    """
    from ranking.judged import JudgementError, append_judged_query, id_rules, next_query_id, parse_grades

    if not text and not romes:
        raise click.UsageError("give --romes or --q")
    params = {"q": text, "romes": romes, "insee": insee, "radius": str(radius), "kinds": kinds,
              "latitude": "" if latitude is None else str(latitude),
              "longitude": "" if longitude is None else str(longitude)}
    params = {name: value for name, value in params.items() if value}
    answer = (_search_http(url, {**params, "page": 1, "page_size": size}) if url
              else _search_in_process(engine, {**params, "page": "1", "page_size": str(size)}))
    items = answer["items"]
    if not items:
        raise click.ClickException("the search found nothing to judge")
    for number, item in enumerate(items, start=1):
        distance = "" if item.get("distance_km") is None else f"{item['distance_km']:.1f} km"
        where = (item.get("place") or {}).get("city") or ""
        click.echo(f"{number:>3}. [{item['kind']}] {item.get('title', '')} — {where} {distance} (id {item['id']})")
    if grades_text is None:
        grades = {}
        for number in range(1, len(items) + 1):
            answer_text = click.prompt(f"grade of {number} (0-3, empty = unjudged)", default="", show_default=False)
            if answer_text.strip():
                grades.update(_grades_or_fail(parse_grades, f"{number}={answer_text.strip()}", len(items)))
    else:
        grades = _grades_or_fail(parse_grades, grades_text, len(items))
    if not grades:
        raise click.ClickException("no result graded: nothing written")
    query_id = query_id or next_query_id(judgements_path)
    graded = [(items[n - 1], grade) for n, grade in sorted(grades.items())]
    row = {**params, "query_id": query_id, "judgements": id_rules(graded),
           "note": note or f"judged with lba judge ({len(grades)} of {len(items)} results)"}
    try:
        append_judged_query(judgements_path, row)
    except (JudgementError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{query_id}: {len(grades)} judgements appended to {judgements_path}")


def _grades_or_fail(parse, text: str, count: int) -> dict[int, int]:  # type: ignore[no-untyped-def]
    try:
        return parse(text, count)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--grade") from None


def format_usage(report: dict) -> list[str]:
    """The usage report as text lines: searches per surface, then CTR by surface, kind and position."""
    lines = ["searches: " + (", ".join(f"{surface} {count}" for surface, count in sorted(report["searches"].items()))
                             or "none")]
    lines.append(f"{'surface':<8} {'kind':<10} {'pos':>4} {'impr.':>7} {'clicks':>7} {'CTR':>7} "
                 f"{'appl.':>6} {'callb.':>6}")
    for row in report["positions"]:
        ctr = "-" if row.ctr is None else f"{row.ctr:.1%}"
        lines.append(f"{row.surface:<8} {row.kind:<10} {row.position or '?':>4} {row.impressions:>7} {row.clicks:>7} "
                     f"{ctr:>7} {row.applications:>6} {row.callbacks:>6}")
    return lines


@ranking_group.command("usage")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="First day counted (YYYY-MM-DD).")
def usage_command(since) -> None:  # type: ignore[no-untyped-def]
    """Click-through by result position and kind (clicks / impressions), with applications and callbacks.

    Position "?" holds applications and callbacks that came from no result page (the API, a shared link).
    """
    from app.services.usage import position_report
    from scripts.store_cli import open_store

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    report = position_report(open_store(settings), since.date() if since else None)
    for line in format_usage(report):
        click.echo(line)
