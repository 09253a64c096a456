"""Seeded synthetic hiring history (company file + monthly hires by contract kind) for the hiring-prediction models.

Usage: python -m scripts.demo_hiring --scale small|national [--out var/hiring/<scale>] [--seed 42]
       [--end-month 2026-10] [--months 48]

Writes `companies.csv` and `hirings.csv` in the formats of indexers/hiring/input_files.py, plus
`manifest.json` (seed, months, counts, summary figures). A deployment replaces both files with real
extracts (SIRENE + contact flags, aggregated DPAE) without code changes.

The companies are generated here rather than read from the demo recruiters file: that file holds
only companies already predicted to hire (by the demo generator's own rule), so it has neither the
never-hiring majority nor closure and opt-out flags, and reading it when present would make this
output depend on whether `lba demo` ran first. Names, SIRETs and addresses use the demo
generator's helpers, so both look alike.

How the history is drawn (every constant below says why it has its value):

* each company has a NAF code (weighted by the ROME↔NAF mapping's hirings), a headcount band,
  a commune (weighted by population) and a sector factor for apprenticeships;
* only some companies are potential apprentice employers, more often when bigger and in crafts
  sectors; the others hire an apprentice very rarely ("cold starts");
* potential employers switch between hiring and not hiring (a Markov on/off state: some stop,
  some start), with a lasting company frailty and two slowly moving log-rate processes (a company
  growth shared with other hires, and an apprenticeship-specific one): persistence without
  determinism;
* apprenticeship hires peak in September (and around it), grow nationally a few per cent a year;
  fixed-term hires peak in summer in seasonal sectors; all kinds grow less than linearly with size;
* some companies are created during the window, some close (and hire less in their last months),
  a few opted out of being shown.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from app.referentials import Commune, Referentials, get_referentials
from indexers.hiring.codes import CONTRACTS, HEADCOUNT_BANDS, month_label, month_ordinal
from indexers.hiring.input_files import COMPANY_COLUMNS, HIRING_COLUMNS, write_csv
from scripts.demo_data.identifiers import make_siret, phone
from scripts.demo_data.names import STREETS, company_name, slug
from scripts.demo_data.world import jitter

GENERATOR_VERSION = 1
SCALES = {"small": 5_000, "national": 500_000}
#: Four years: the La Bonne Boite baseline needs two years of half-yearly features plus a target
#: window one year back, and the backtest then still has cutoffs in three different seasons.
MONTHS = 48
COMPANIES_FILE, HIRINGS_FILE, MANIFEST_FILE = "companies.csv", "hirings.csv", "manifest.json"

#: Apprenticeship contract starts by calendar month (Jan…Dec), relative. The school year starts in
#: September, so about 30 % of a year's contracts start then and two thirds between July and October.
APPRENTICESHIP_SEASON = np.array([0.45, 0.40, 0.40, 0.35, 0.40, 0.55, 0.95, 1.55, 3.30, 1.75, 0.65, 0.40])
#: Fixed-term hires in seasonal sectors (farming, hotels, restaurants, leisure): summer peak.
SEASONAL_DIVISIONS = {"01", "55", "56", "93"}
SUMMER_SEASON = np.array([0.6, 0.6, 0.8, 1.0, 1.3, 1.8, 2.0, 1.6, 0.9, 0.6, 0.5, 0.6])
#: National growth of apprenticeship hires per year (the post-2019 apprenticeship boom, slowing).
APPRENTICESHIP_TREND = 1.05

#: Share of establishments by INSEE headcount band: most employers are very small.
BAND_WEIGHTS = {"00": 0.01, "01": 0.33, "02": 0.20, "03": 0.12, "11": 0.13, "12": 0.11, "21": 0.05, "22": 0.03,
                "31": 0.007, "32": 0.01, "41": 0.005, "42": 0.002, "51": 0.001, "52": 0.0003, "53": 0.0001}
#: Apprenticeship propensity of a NAF division relative to the average: crafts (food, building,
#: car repair, hairdressing) and hospitality take far more apprentices than temp agencies, public
#: administration or social work. Rough orders of magnitude, not measured values.
APPRENTICESHIP_SECTOR = {
    "10": 2.5, "41": 1.6, "42": 1.3, "43": 2.2, "45": 2.2, "47": 1.5, "55": 1.3, "56": 1.8, "62": 1.5,
    "64": 1.8, "65": 1.4, "66": 1.2, "69": 1.4, "71": 1.3, "75": 1.6, "96": 2.6, "01": 0.8, "49": 0.6,
    "52": 0.8, "68": 0.8, "78": 0.3, "81": 0.5, "84": 0.5, "85": 0.5, "86": 1.0, "87": 0.7, "88": 0.6,
    "94": 0.4,
}
#: Fixed-term hiring relative to the average: seasonal, temp and care sectors churn most.
TURNOVER_SECTOR = {"01": 2.5, "55": 3.0, "56": 3.0, "47": 1.5, "78": 5.0, "85": 2.0, "86": 2.0, "87": 2.0,
                   "88": 2.0, "90": 2.5, "93": 2.5, "49": 1.5, "52": 1.5}
NAF_EFFECT_SD = 0.35  # spread of NAF sub-classes around their division
DEPARTMENT_EFFECT_SD = 0.15  # regional labour markets and apprenticeship policies differ a little

#: P(potential apprentice employer) = logistic(POTENTIAL_INTERCEPT + POTENTIAL_SIZE × ln(headcount)
#: + ln(sector) + NAF effect): about 12 % of 1–2-person companies, 60 % at 50–99, 80 % at 250+.
POTENTIAL_INTERCEPT, POTENTIAL_SIZE = -2.4, 0.6
#: Yearly apprentice hires of a potential employer while hiring: grows as √headcount (a 1–2-person
#: craft takes one apprentice every year or two, a 300-person company about ten a year).
APPRENTICE_RATE, APPRENTICE_SIZE = 0.6, 0.5
FRAILTY_SHAPE = 2.0  # Gamma(2) company frailty: persistent differences between similar companies
COLD_RATE = 0.02  # yearly apprentice hires of non-potential companies (× headcount^0.3): cold starts
#: On/off state of potential employers, per month: 1.5 % stop, 0.8 % start; 60 % hiring at the start.
STOP_RATE, START_RATE, INITIAL_ON = 0.015, 0.008, 0.6
#: Monthly AR(1) log-rate processes: (persistence, stationary standard deviation).
GROWTH_AR, APPRENTICE_AR = (0.95, 0.35), (0.97, 0.5)
GROWTH_IN_APPRENTICESHIP = 0.6  # a growing company also takes more apprentices
COHORT_SHAPE = 4.0  # Gamma month-to-month noise of apprentice hires (intakes come in small batches)
#: Other hires a year: fixed-term 0.6 × headcount^0.9, permanent 0.15 × headcount^0.85.
FIXED_RATE, FIXED_SIZE, PERMANENT_RATE, PERMANENT_SIZE = 0.6, 0.9, 0.15, 0.85
#: Closure hazard per month, 0.35 % × (headcount / 5)^-0.25: small companies close more often.
CLOSURE_HAZARD = 0.0035
DECLINE_MONTHS, DECLINE_FACTOR = 6, 0.4  # a closing company hires less in its last months
CREATED_IN_WINDOW = 0.10  # share of companies created during the history
OPT_OUT_BASE, OPT_OUT_HIRERS = 0.01, 0.03  # companies flooded with applications opt out more often
#: Location forms: commune code + coordinates, commune code only, coordinates only.
LOCATION_FORMS = (0.96, 0.03, 0.01)


@dataclass
class Population:
    """Static draws of every company."""

    naf: np.ndarray
    division: np.ndarray
    band: np.ndarray
    headcount: np.ndarray
    commune: np.ndarray  # index into the commune list
    department: np.ndarray
    potential: np.ndarray
    rate_app: np.ndarray
    rate_cold: np.ndarray
    rate_fixed: np.ndarray
    rate_perm: np.ndarray
    seasonal: np.ndarray
    created: np.ndarray  # month index of creation (< 0: before the history)
    closed: np.ndarray  # month index of closure (≥ months: open)
    opt_out: np.ndarray


def _communes(refs: Referentials) -> list[Commune]:
    """Communes where companies are placed: Paris, Lyon and Marseille by arrondissement, as SIRENE codes them."""
    split = {c.parent for c in refs.communes if c.kind == "arrondissement-municipal"}
    return sorted((c for c in refs.communes if c.zone in ("metro", "drom") and c.insee not in split
                   and c.population > 0 and c.postcodes), key=lambda c: c.insee)


def _effects(rng: np.random.Generator, keys: Sequence[str], sd: float) -> dict[str, float]:
    return dict(zip(keys, rng.normal(0.0, sd, len(keys)).tolist()))


def draw_population(refs: Referentials, n: int, months: int, rng: np.random.Generator,
                    communes: list[Commune]) -> Population:
    """Static characteristics of `n` companies."""
    naf_totals = {naf: sum(romes.values()) for naf, romes in refs.naf.romes_of_naf.items()}
    nafs = sorted(refs.naf.codes)
    # NAF codes absent from the ROME mapping still exist (and cannot be shown): give them a small weight.
    floor = float(np.percentile(list(naf_totals.values()), 5))
    naf_weights = np.array([naf_totals.get(naf, floor) for naf in nafs], dtype=float)
    naf = np.array(nafs)[rng.choice(len(nafs), n, p=naf_weights / naf_weights.sum())]
    division = np.array([code[:2] for code in naf.tolist()])
    bands = list(BAND_WEIGHTS)
    band_p = np.array(list(BAND_WEIGHTS.values()))
    band = np.array(bands)[rng.choice(len(bands), n, p=band_p / band_p.sum())]
    headcount = np.array([HEADCOUNT_BANDS[b][2] for b in band.tolist()])
    population = np.array([c.population for c in communes], dtype=float)
    commune = rng.choice(len(communes), n, p=population / population.sum())
    department = np.array([communes[i].department for i in commune.tolist()])
    naf_effect = _effects(rng, nafs, NAF_EFFECT_SD)
    dept_effect = _effects(rng, sorted({c.department for c in communes}), DEPARTMENT_EFFECT_SD)
    u_naf = np.array([naf_effect[code] for code in naf.tolist()])
    v_dept = np.array([dept_effect[code] for code in department.tolist()])
    sector = np.array([APPRENTICESHIP_SECTOR.get(d, 1.0) for d in division.tolist()])
    turnover = np.array([TURNOVER_SECTOR.get(d, 1.0) for d in division.tolist()])
    logit = POTENTIAL_INTERCEPT + POTENTIAL_SIZE * np.log(headcount) + np.log(sector) + u_naf
    potential = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    frailty = rng.gamma(FRAILTY_SHAPE, 1.0 / FRAILTY_SHAPE, n)
    rate_app = (APPRENTICE_RATE * headcount ** APPRENTICE_SIZE * np.sqrt(sector) * np.exp(0.5 * u_naf + v_dept)
                * frailty)
    rate_cold = COLD_RATE * headcount ** 0.3 * sector
    other_frailty = rng.gamma(3.0, 1.0 / 3.0, n)
    rate_fixed = FIXED_RATE * headcount ** FIXED_SIZE * turnover * other_frailty * np.exp(0.3 * u_naf)
    rate_perm = PERMANENT_RATE * headcount ** PERMANENT_SIZE * other_frailty
    created = np.where(rng.random(n) < CREATED_IN_WINDOW, rng.integers(1, months, n), -1)
    hazard = np.clip(CLOSURE_HAZARD * (headcount / 5.0) ** -0.25, 0.0, 0.05)
    closed = np.maximum(created, 0) + rng.geometric(hazard)
    opt_out = rng.random(n) < OPT_OUT_BASE + OPT_OUT_HIRERS * potential
    seasonal = np.isin(division, list(SEASONAL_DIVISIONS))
    return Population(naf=naf, division=division, band=band, headcount=headcount, commune=commune,
                      department=department, potential=potential, rate_app=rate_app, rate_cold=rate_cold,
                      rate_fixed=rate_fixed, rate_perm=rate_perm, seasonal=seasonal, created=created,
                      closed=closed, opt_out=opt_out)


def _ar_step(rng: np.random.Generator, state: np.ndarray, ar: tuple[float, float]) -> np.ndarray:
    rho, sd = ar
    return rho * state + sd * math.sqrt(1.0 - rho * rho) * rng.standard_normal(state.size)


def simulate(pop: Population, first_month: int, months: int, rng: np.random.Generator) -> np.ndarray:
    """Monthly hires `[company, month, contract kind]` (uint16) of the population."""
    n = pop.naf.size
    counts = np.zeros((n, months, len(CONTRACTS)), dtype=np.uint16)
    growth = GROWTH_AR[1] * rng.standard_normal(n)
    appetite = APPRENTICE_AR[1] * rng.standard_normal(n)
    on = rng.random(n) < INITIAL_ON
    season_app = APPRENTICESHIP_SEASON / APPRENTICESHIP_SEASON.mean()
    summer = SUMMER_SEASON / SUMMER_SEASON.mean()
    # exp() of a centred normal has mean exp(sd²/2): divide it out so rates keep their stated means.
    app_norm = math.exp(-0.5 * (APPRENTICE_AR[1] ** 2 + (GROWTH_IN_APPRENTICESHIP * GROWTH_AR[1]) ** 2))
    growth_norm = math.exp(-0.5 * GROWTH_AR[1] ** 2)
    for t in range(months):
        calendar = (first_month + t) % 12
        growth = _ar_step(rng, growth, GROWTH_AR)
        appetite = _ar_step(rng, appetite, APPRENTICE_AR)
        # Young companies are growing ones.
        growth = np.where(pop.created == t, np.abs(growth) + 0.3, growth)
        flip = rng.random(n)
        on = np.where(on, flip >= STOP_RATE, flip < START_RATE)
        alive = (pop.created <= t) & (t < pop.closed)
        vitality = alive * np.where(pop.closed - t <= DECLINE_MONTHS, DECLINE_FACTOR, 1.0)
        trend = APPRENTICESHIP_TREND ** (t / 12.0)
        hiring = pop.potential & on
        lam_app = np.where(hiring, pop.rate_app * np.exp(GROWTH_IN_APPRENTICESHIP * growth + appetite) * app_norm,
                           np.where(pop.potential, 0.0, pop.rate_cold))
        lam_app = lam_app / 12.0 * season_app[calendar] * trend * vitality
        lam_app *= rng.gamma(COHORT_SHAPE, 1.0 / COHORT_SHAPE, n)
        other = np.exp(growth) * growth_norm * vitality / 12.0
        lam_fixed = pop.rate_fixed * other * np.where(pop.seasonal, summer[calendar], 1.0)
        lam_perm = pop.rate_perm * other
        for kind, lam in enumerate((lam_app, lam_fixed, lam_perm)):
            counts[:, t, kind] = np.minimum(rng.poisson(lam), np.iinfo(np.uint16).max)
    return counts


def _day_in(rng: random.Random, ordinal: int) -> str:
    return f"{month_label(ordinal)}-{rng.randint(1, 28):02d}"


def company_rows(pop: Population, communes: list[Commune], first_month: int, months: int,
                 seed: int) -> list[list[str]]:
    """Rows of the company file, in COMPANY_COLUMNS order."""
    rng = random.Random(f"{seed}:hiring-companies")
    sirets: set[str] = set()
    rows = []
    for i in range(pop.naf.size):
        commune = communes[int(pop.commune[i])]
        naf = str(pop.naf[i])
        name, legal = company_name(rng, naf, naf[:2], commune)
        siret = make_siret(rng)
        while siret in sirets:
            siret = make_siret(rng)
        sirets.add(siret)
        lat, lon = jitter(rng, commune.latitude, commune.longitude)
        form = rng.random()
        insee, postcode = commune.insee, rng.choice(commune.postcodes)
        if form >= LOCATION_FORMS[0] + LOCATION_FORMS[1]:
            insee = postcode = ""  # located by coordinates only
        coordinates = ("", "") if LOCATION_FORMS[0] <= form < LOCATION_FORMS[0] + LOCATION_FORMS[1] \
            else (f"{lat:.6f}", f"{lon:.6f}")
        created = int(pop.created[i])
        if created >= 0:
            created_on = _day_in(rng, first_month + created)
        elif rng.random() < 0.95:
            created_on = _day_in(rng, first_month - rng.randint(1, 40 * 12))
        else:
            created_on = ""  # unknown creation date, as in old SIRENE records
        closed = int(pop.closed[i])
        closed_on = _day_in(rng, first_month + closed) if closed < months else ""
        rows.append([
            siret, legal, name.upper() if rng.random() < 0.7 else "", naf, str(pop.band[i]), insee, postcode,
            str(rng.randrange(1, 200)) if rng.random() < 0.7 else "", rng.choice(STREETS) if rng.random() < 0.9 else "",
            *coordinates,
            f"contact.{slug(name)}@example.org" if rng.random() < 0.3 else "",
            phone(rng) if rng.random() < 0.45 else "",
            f"https://www.{slug(name)}.example" if rng.random() < 0.15 else "",
            created_on, closed_on, "1" if pop.opt_out[i] else "0",
        ])
    return rows


def hiring_rows(sirets: Sequence[str], counts: np.ndarray, first_month: int,
                chunk: int = 20_000) -> Iterator[tuple[str, str, str, int]]:
    """Rows of the hires file (non-zero cells only), company by company."""
    labels = [month_label(first_month + t) for t in range(counts.shape[1])]
    for start in range(0, counts.shape[0], chunk):
        block = counts[start:start + chunk]
        company, month, kind = np.nonzero(block)
        values = block[company, month, kind]
        for c, m, k, v in zip(company.tolist(), month.tolist(), kind.tolist(), values.tolist()):
            yield sirets[start + c], labels[m], CONTRACTS[k], v


def summary(pop: Population, counts: np.ndarray, first_month: int) -> dict[str, Any]:
    """Figures that show the history has the intended shape (also written to the manifest)."""
    app = counts[:, :, 0].astype(np.int64)
    months = counts.shape[1]
    last_year = app[:, months - 12:]
    by_calendar = np.zeros(12)
    for t in range(months):
        by_calendar[(first_month + t) % 12] += app[:, t].sum()
    return {
        "companies": int(pop.naf.size),
        "potential_apprentice_employers": round(float(pop.potential.mean()), 4),
        "ever_hired_apprentice": round(float((app.sum(axis=1) > 0).mean()), 4),
        "hired_apprentice_last_12_months": round(float((last_year.sum(axis=1) > 0).mean()), 4),
        "apprentice_hires_last_12_months": int(last_year.sum()),
        "fixed_term_hires_last_12_months": int(counts[:, months - 12:, 1].sum(dtype=np.int64)),
        "permanent_hires_last_12_months": int(counts[:, months - 12:, 2].sum(dtype=np.int64)),
        "september_share_of_apprentice_hires": round(float(by_calendar[8] / by_calendar.sum()), 4),
        "closed_during_history": int((pop.closed < months).sum()),
        "created_during_history": int((pop.created >= 0).sum()),
        "opted_out": int(pop.opt_out.sum()),
    }


def default_end_month(today: date | None = None) -> str:
    """The last complete month before `today`: the latest month a monthly extract covers in full."""
    today = today or date.today()
    return month_label(today.year * 12 + today.month - 2)


def generate(refs: Referentials, out_dir: str | Path, scale: str = "small", seed: int = 42,
             end_month: str | None = None, months: int = MONTHS, companies: int | None = None) -> dict[str, Any]:
    """Write companies.csv, hirings.csv and manifest.json into `out_dir`; returns the manifest.

    Same referentials, seed, scale, months and end month give byte-identical files.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = companies if companies is not None else SCALES[scale]
    end = end_month or default_end_month()
    first_month = month_ordinal(end) - months + 1
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    communes = _communes(refs)
    pop = draw_population(refs, n, months, rng, communes)
    counts = simulate(pop, first_month, months, rng)
    rows = company_rows(pop, communes, first_month, months, seed)
    (out / MANIFEST_FILE).unlink(missing_ok=True)  # written last: a half-written directory is not complete
    write_csv(out / COMPANIES_FILE, COMPANY_COLUMNS, rows)
    hiring_count = write_csv(out / HIRINGS_FILE, HIRING_COLUMNS, hiring_rows([r[0] for r in rows], counts, first_month))
    manifest = {
        "generator_version": GENERATOR_VERSION, "scale": scale, "seed": seed, "companies": n,
        "first_month": month_label(first_month), "last_month": end, "months": months,
        "hiring_rows": hiring_count, "files": {"companies": COMPANIES_FILE, "hirings": HIRINGS_FILE},
        "summary": summary(pop, counts, first_month),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return {**manifest, "seconds": round(time.perf_counter() - started, 1)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    from app.config import ROOT, Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--out", type=Path, help="output directory (default: var/hiring/<scale>)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end-month", help="last month of the history, YYYY-MM (default: last complete month)")
    parser.add_argument("--months", type=int, default=MONTHS)
    args = parser.parse_args(argv)
    out = args.out or ROOT / "var" / "hiring" / args.scale
    result = generate(get_referentials(Settings.from_env().data_dir), out, args.scale, args.seed, args.end_month,
                      args.months)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
