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


def _service(engine_name: str | None):
    """The match service on the configured (or named) engine, without the web app around it."""
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
    return MatchService(build_engine(settings), get_referentials(settings.data_dir), DEFAULT_WEIGHTS)


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
    from app.services.ranking_lab import run_all

    runs = run_all(_service(engine), _weights(weights_path), _queries(judgements_path))
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
    from app.services.ranking_lab import run_all, with_shared_pool

    service, queries = _service(engine), _queries(judgements_path)
    base_runs, cand_runs = with_shared_pool(run_all(service, _weights(baseline), queries),
                                            run_all(service, _weights(candidate), queries))
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
