"""Property-based fuzz of the whole served OpenAPI document with schemathesis: every check, both generation modes."""
from __future__ import annotations

import os
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable
from jsonschema import Draft202012Validator
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

#: Examples per operation and mode: bounded so that the whole run stays near a minute or two on 2 cores.
MAX_EXAMPLES = int(os.environ.get("LBA_FUZZ_EXAMPLES", "25"))
#: Schema-valid values that name something that does not exist (a ROME code, a commune, a certification, a
#: job for a free text): a 400 naming that parameter is the documented answer; OpenAPI cannot list what exists.
LOOKUP_FIELDS = {"romes", "q", "insee", "postcode", "rncp"}
LOOKUP_WORDS = ("inconnu", "Aucun", "Aucune", "introuvable", "ne correspond")


@schemathesis.check
def positive_data_accepted_unless_not_found(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' positive_data_acceptance, except a 400 that only says a looked-up value does not exist,
    and the documented 410 of an offer that existed but is closed (a 404 that says more)."""
    if response.status_code == 410:
        return None
    if response.status_code == 400:
        details = dict((response.json() or {}).get("error", {}).get("details") or {})
        details.pop("suggestions", None)  # job titles offered beside "no job for this text" (the floor)
        messages = [m for values in details.values() for m in (values if isinstance(values, list) else [values])]
        if details and set(details) <= LOOKUP_FIELDS and all(
                any(word in str(m) for word in LOOKUP_WORDS) for m in messages):
            return None
    return positive_data_acceptance(ctx, response, case)


def _repair(query: dict[str, Any], rules: Draft202012Validator | None, codes: list[str]) -> dict[str, Any]:
    """Make a positive case follow the document's cross-parameter rules (`x-parameter-constraints`, and the
    depth rule the `page` description states: page × page_size ≤ 1000)."""
    size = query.get("page_size", 20)
    if isinstance(query.get("page"), int) and isinstance(size, int) and size > 0 and query["page"] * size > 1000:
        query = {**query, "page": max(1, 1000 // size)}
    if rules is None or rules.is_valid(query):
        return query
    fixed = dict(query)
    if "latitude" in fixed or "longitude" in fixed:
        fixed.setdefault("latitude", 45.76)
        fixed.setdefault("longitude", 4.84)
        fixed.pop("insee", None)
        fixed.pop("postcode", None)
    elif "insee" in fixed:
        fixed.pop("postcode", None)
    if not rules.is_valid(fixed):
        fixed.setdefault("romes", codes[0])
    return fixed


def test_fuzz_the_whole_document_with_every_check(app, documents):
    codes = sorted({code for doc in documents for code in doc["rome_index_codes"]})
    # Real ids half of the time, so that detail pages answer 200 (and get checked) as well as 404.
    real_ids = {"formation_id": [d["id"] for d in documents if d["kind"] == "formation"][:20],
                "offer_id": [d["id"] for d in documents if d["kind"] == "offer"][:20],
                "siret": [d["id"] for d in documents if d["kind"] == "company"][:20]}
    schemathesis.openapi.format("rome-codes", st.lists(st.sampled_from(codes + ["A9999"]), min_size=1,
                                                       max_size=3).map(",".join))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    spec = app.test_client().get("/api/openapi.json").get_json()
    # Every read operation; the write operations (applications, callbacks, opt-out) are property-tested
    # against their own schemas in their test files (bodies generated from the public document).
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.method.lower() == "get"]
    assert len(operations) >= 12
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    skipped: list[str] = []
    for operation in operations:
        declared = spec["paths"][operation.path]["get"].get("x-parameter-constraints")
        rules = Draft202012Validator(declared) if declared else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None, derandomize=True)
            def run(case):
                if mode is GenerationMode.POSITIVE and case.query is not None:
                    case.query = _repair(case.query, rules, codes)
                    assume(rules is None or rules.is_valid(case.query))
                for name, value in list((case.path_parameters or {}).items()):
                    if mode is GenerationMode.POSITIVE and name in real_ids and sum(statuses.values()) % 2:
                        case.path_parameters[name] = real_ids[name][len(str(value)) % len(real_ids[name])]
                # Every check schemathesis has (server errors, status codes, content types, headers, response
                # schemas, negative data rejected, ...), positive data acceptance with the lookup exception.
                response = case.call_and_validate(excluded_checks=[positive_data_acceptance],
                                                  additional_checks=[positive_data_accepted_unless_not_found])
                statuses[response.status_code] += 1

            try:
                run()
            except Unsatisfiable:
                # No schema-invalid value exists for this operation (a free-form path segment): nothing to send.
                assert mode is GenerationMode.NEGATIVE, operation.label
                skipped.append(operation.label)
            except BaseException as exc:  # noqa: BLE001 - every operation's failure, reported together
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    # Parameterless reads (healthz, the statistics, the recruiter's offer and partner-company lists) and
    # free-form path segments have no negative case.
    assert len(skipped) <= 6
    assert statuses[500] == 0 and statuses[200] >= 50 and statuses[400] >= 50 and statuses[404] >= 5
