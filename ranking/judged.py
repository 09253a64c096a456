"""Judged queries: the CSV format of ranking/judgements/README.md parsed into queries and graded rules."""
from __future__ import annotations

import csv
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Columns of a judgements CSV, in this order; README.md documents each.
COLUMNS = ("query_id", "q", "romes", "insee", "latitude", "longitude", "radius", "kinds", "judgements", "note")
GRADES = (0, 1, 2, 3)
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "!=": operator.ne, "<": operator.lt, ">": operator.gt, "=": operator.eq,
}
_CONDITION = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|!=|<|>|=)\s*(.+?)\s*$")
#: Properties a condition may name; every one is a field of the evaluated result (app/services/ranking_lab.py).
PROPERTIES = ("id", "kind", "source", "distance_km", "application_count", "age_days", "rome")
_NUMERIC = {"distance_km", "application_count", "age_days"}


class JudgementError(ValueError):
    """A judgements file is malformed; the message names the file, line and column."""


@dataclass(frozen=True)
class Condition:
    """`property operator value`, e.g. `distance_km<=10`."""

    name: str
    op: str
    value: str | float

    def holds(self, result: Mapping[str, Any]) -> bool:
        """Whether `result` satisfies it; a missing value (no distance, no date) never does."""
        actual = result.get(self.name)
        if actual is None or (isinstance(actual, float) and math.isnan(actual)):
            return False
        if self.name in _NUMERIC:
            return _OPERATORS[self.op](float(actual), self.value)
        return _OPERATORS[self.op](str(actual), self.value)


@dataclass(frozen=True)
class Rule:
    """All conditions hold → the result earns `grade`."""

    conditions: tuple[Condition, ...]
    grade: int


@dataclass(frozen=True)
class JudgedQuery:
    """One judged query: the match parameters and the rules grading its results."""

    query_id: str
    params: dict[str, Any]
    rules: tuple[Rule, ...]
    note: str = ""

    def grade(self, result: Mapping[str, Any]) -> int:
        """The highest grade of the rules `result` satisfies; 0 when none does (unjudged = not relevant)."""
        return max((rule.grade for rule in self.rules if all(c.holds(result) for c in rule.conditions)), default=0)


def parse_condition(text: str) -> Condition:
    """`kind=offer` → Condition; ValueError naming what is wrong."""
    found = _CONDITION.match(text)
    if not found:
        raise ValueError(f"condition {text!r} is not `property<op>value`")
    name, op, raw = found.groups()
    if name not in PROPERTIES:
        raise ValueError(f"unknown property {name!r}; known: {', '.join(PROPERTIES)}")
    if name in _NUMERIC:
        try:
            return Condition(name, op, float(raw))
        except ValueError:
            raise ValueError(f"{name} needs a number, not {raw!r}") from None
    if op not in ("=", "!="):
        raise ValueError(f"{name} compares with = or != only")
    return Condition(name, op, raw)


def parse_rules(text: str) -> tuple[Rule, ...]:
    """`kind=offer;distance_km<=10 => 3 | kind=company => 1` → rules; ValueError on any bad part."""
    rules = []
    for part in filter(None, (p.strip() for p in text.split("|"))):
        left, arrow, grade = part.rpartition("=>")
        if not arrow:
            raise ValueError(f"rule {part!r} has no `=> grade`")
        if grade.strip() not in {str(g) for g in GRADES}:
            raise ValueError(f"grade {grade.strip()!r} is not one of 0, 1, 2, 3")
        conditions = tuple(parse_condition(c) for c in left.split(";") if c.strip())
        if not conditions:
            raise ValueError(f"rule {part!r} has no condition")
        rules.append(Rule(conditions, int(grade)))
    if not rules:
        raise ValueError("no judgement")
    return tuple(rules)


def _params(row: Mapping[str, str]) -> dict[str, Any]:
    """Match request parameters of a row, as the API's query string would carry them."""
    params: dict[str, Any] = {}
    for name in ("q", "romes", "insee", "latitude", "longitude", "radius", "kinds"):
        value = (row.get(name) or "").strip()
        if value:
            params[name] = value
    if "romes" not in params and "q" not in params:
        raise ValueError("a query needs romes or q")
    return params


def read_judgements(rows: Iterable[Mapping[str, str]], origin: str = "judgements") -> list[JudgedQuery]:
    """Judged queries from CSV rows (dicts); a JudgementError names `origin` and the line on any error."""
    queries: list[JudgedQuery] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        query_id = (row.get("query_id") or "").strip()
        try:
            if not query_id:
                raise ValueError("query_id is empty")
            if query_id in seen:
                raise ValueError(f"query_id {query_id!r} appears twice")
            queries.append(JudgedQuery(query_id, _params(row), parse_rules(row.get("judgements") or ""),
                                       (row.get("note") or "").strip()))
            seen.add(query_id)
        except ValueError as error:
            raise JudgementError(f"{origin}, line {line}: {error}") from None
    return queries


def load_judgements(path: str | Path) -> list[JudgedQuery]:
    """Judged queries of a CSV file with the COLUMNS header."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("query_id", "judgements") if c not in (reader.fieldnames or ())]
        if missing:
            raise JudgementError(f"{path}: missing column(s) {', '.join(missing)}")
        return read_judgements(reader, str(path))


def format_rules(rules: Sequence[Rule]) -> str:
    """The CSV text of rules, the inverse of parse_rules."""
    def value(c: Condition) -> str:
        return f"{c.value:g}" if isinstance(c.value, float) else str(c.value)
    return " | ".join(";".join(f"{c.name}{c.op}{value(c)}" for c in r.conditions) + f" => {r.grade}" for r in rules)


def parse_grades(text: str, count: int) -> dict[int, int]:
    """`1=3,2=1,5=0` → {position: grade} for results numbered 1..count; ValueError naming the bad part."""
    grades: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        position, equals, grade = part.partition("=")
        if not equals or not position.strip().isdigit() or grade.strip() not in {str(g) for g in GRADES}:
            raise ValueError(f"{part!r} is not `position=grade` with a grade 0-3")
        number = int(position)
        if not 1 <= number <= count:
            raise ValueError(f"position {number} is not among the {count} results shown")
        grades[number] = int(grade)
    return grades


def id_rules(graded: Sequence[tuple[Mapping[str, Any], int]]) -> str:
    """Rules grading each result by kind and id (`kind=offer;id=X => 3`), best grade first."""
    ordered = sorted(graded, key=lambda pair: -pair[1])
    return format_rules([Rule((Condition("kind", "=", str(r["kind"])), Condition("id", "=", str(r["id"]))), grade)
                         for r, grade in ordered])


def next_query_id(path: str | Path, prefix: str = "j") -> str:
    """The first `prefix`NNN id not used in the judgements file at `path` (j001 for a new file)."""
    used: set[str] = set()
    if Path(path).exists():
        with open(path, newline="", encoding="utf-8") as handle:
            used = {(row.get("query_id") or "").strip() for row in csv.DictReader(handle)}
    number = 1
    while f"{prefix}{number:03d}" in used:
        number += 1
    return f"{prefix}{number:03d}"


def append_judged_query(path: str | Path, row: Mapping[str, Any]) -> JudgedQuery:
    """Append one query row (COLUMNS) to the CSV at `path`, header first for a new file.

    The row is checked first with every earlier row (a duplicate id, a bad rule), so the file never holds
    a line `load_judgements` would refuse.
    """
    path = Path(path)
    line = {name: "" if row.get(name) is None else str(row.get(name)) for name in COLUMNS}
    earlier: list[dict[str, str]] = []
    if path.exists() and path.stat().st_size:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise JudgementError(f"{path}: its header is not the documented columns")
            earlier = list(reader)
    checked = read_judgements(earlier + [line], str(path))[-1]
    new = not earlier and not (path.exists() and path.stat().st_size)
    with open(path, "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(line)
    return checked
