"""The hostile-input table: every GET operation of the OpenAPI document, every parameter, hostile values.

Never a 5xx, always the JSON error shape for an error, and nothing internal in any answer: no stack
trace, no SQL or engine message, no e-mail address (our documents hold some, in their private block).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import quote, unquote

import pytest

from tests.api.conftest import CODES
from tests.api.test_v3 import hand_made_documents
from tests.factories import make_documents

LYON = {"latitude": "45.764", "longitude": "4.8357"}

# Already percent-encoded, as they travel in a query string.
TEXT = {
    "fts_near": quote('"boulanger" NEAR/2 pâtissier'),
    "fts_star": quote("*"),
    "fts_prefix": quote("boul*"),
    "fts_quote": quote('"unterminated'),
    "fts_ops": quote("AND OR NOT ^ - + ~"),
    "fts_column": quote("title:boulanger {a b} (c"),
    "fts_match_all": quote("* OR *"),
    "sql_or": quote("' OR 1=1 --"),
    "sql_drop": quote('"; DROP TABLE docs; --'),
    "sql_union": quote("1) UNION SELECT email, 1 FROM api_keys --"),
    "sql_json": quote("') OR json_each('x"),
    "nul": "a%00b",
    "nul_only": "%00",
    "invalid_utf8": "%ff%fe",
    "overlong_utf8": "%c0%af%c3%28",
    "lone_surrogate": "%ed%a0%80",
    "rtl_override": quote("\u202eregnalub"),
    "combining": quote("e" + "\u0301" * 300),
    "emoji": quote("🥖" * 50),
    "long_word": "a" * 2000,
    "many_words": quote(" ".join(["de", "la", "le", "a", "b"] * 200)),
    "crlf": "x%0d%0aSet-Cookie:%20a=b",
    "html": quote("<script>alert(1)</script>"),
    "path": quote("../../../../etc/passwd"),
    "format": quote("%s%s%n{0}{__class__}"),
    "empty": "",
    "spaces": "%20%20%20",
}
NUMBERS = {
    "nan": "NaN", "inf": "Infinity", "minus_inf": "-inf", "overflow": "1e309", "huge_int": "9" * 40,
    "negative": "-1", "zero": "0", "hex": "0x10", "unicode_digits": quote("٤٥"), "underscore": "4_5",
    "exp": "1e2", "comma": "4,5", "nul": "4%005", "invalid_utf8": "%ff",
}
PAGES = {"page": "99999999999", "page_size": "100000000"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LEAKS = ("Traceback", 'File "', ".py\"", "sqlite3", "OperationalError", "ProgrammingError", "syntax error",
         "json_each", "FROM docs", "psycopg", "opensearchpy", "elasticsearch.", "KeyError", "TypeError",
         "ValueError", "werkzeug", "/work/", "/tmp/")


@pytest.fixture(scope="module")
def documents(refs):
    """The shared documents plus the hand-made ones whose private blocks hold e-mail addresses."""
    from datetime import date
    today = date.today()
    return make_documents(refs, 900, seed=12, codes=CODES, today=today) + hand_made_documents(refs, today)


def _operations(client) -> list[tuple[str, dict[str, Any]]]:
    spec = client.get("/api/openapi.json").get_json()
    return [(path, ops["get"]) for path, ops in spec["paths"].items() if "get" in ops]


def _base(path: str, names: set[str]) -> dict[str, str]:
    """Valid parameters that take a request deep into the operation (a search, not a 400 on the first check)."""
    if "/jobs/search" in path:
        return {"romes": "D1102", **LYON, "radius": "30"}
    if "romes" in names:
        return {"romes": "D1102", **LYON}
    if "q" in names:
        return {"q": "boulanger"}
    return {}


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='')}={v}" for k, v in params.items())


def _check(response, what: str, sent: str = "") -> None:
    assert response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_data(as_text=True)
    echoed = unquote(sent)  # an error may quote the caller's own value back: that is not a leak
    for leak in LEAKS:
        assert leak not in body or leak in echoed, (what, leak, body[:300])
    assert not EMAIL.search(body), (what, EMAIL.search(body).group(0))
    if response.status_code >= 400:
        assert response.mimetype == "application/json", (what, response.mimetype)
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "details", "request_id"} and error["code"] and error["message"], what


def _cases(client) -> list[tuple[str, str]]:
    cases = []
    for path, operation in _operations(client):
        params = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        names = {p["name"] for p in params}
        path_params = [p for p in operation.get("parameters", []) if p["in"] == "path"]
        if path_params:
            for label, value in TEXT.items():
                url = path
                for p in path_params:
                    url = url.replace("{" + p["name"] + "}", value or "x")
                cases.append((f"{path} {label}", url))
            plain = path
            for p in path_params:
                plain = plain.replace("{" + p["name"] + "}", "12345678900011")
            cases.append((f"{path} 1MB query", f"{plain}?pad={'x' * (1 << 20)}"))
            continue
        base = _base(path, names)
        for p in params:
            kind = p["schema"].get("type")
            payloads = NUMBERS if kind in ("number", "integer") else TEXT
            if p["name"] in PAGES:
                payloads = {**payloads, "huge_page": PAGES[p["name"]]}
            for label, value in payloads.items():
                query = dict(base)
                if p["name"] in ("romes", "q"):
                    query.pop("romes", None)
                    query.pop("q", None)
                query[p["name"]] = value
                cases.append((f"{path} {p['name']}={label}", f"{path}?{_query(query)}"))
        # Whole-request hostilities.
        cases += [
            (f"{path} 1MB query", f"{path}?{_query(base)}&pad={'x' * (1 << 20)}"),
            (f"{path} 1000 ROME codes", f"{path}?{_query({**base, 'romes': ','.join(['D1102'] * 1000)})}"),
            (f"{path} 1000 distinct ROME codes", f"{path}?" + _query(
                {**base, "romes": ",".join(f"D{1000 + i:04d}" for i in range(1000))})),
            (f"{path} repeated parameter", f"{path}?{_query(base)}" + "&romes=D1102" * 500),
            (f"{path} NUL in a name", f"{path}?{_query(base)}&a%00b=1"),
            (f"{path} invalid UTF-8 name", f"{path}?{_query(base)}&%ff%fe=1"),
            (f"{path} bare names", f"{path}?&&&=&==&romes&q"),
        ]
    return cases


def test_the_hostile_table_never_gets_a_5xx_nor_leaks(client):
    cases = _cases(client)
    statuses: Counter[int] = Counter()
    operations = {what.split(" ")[0] for what, _ in cases}
    assert len(operations) >= 12 and len(cases) >= 1500  # the table covers the whole document
    for what, url in cases:
        response = client.get(url)
        _check(response, what, url)
        statuses[response.status_code] += 1
    # Both branches ran: hostile values were refused and some were searched for (and found nothing bad).
    assert statuses[400] > 300 and statuses[200] > 100 and statuses[414] >= len(operations)


@pytest.mark.parametrize("headers", [
    {"X-API-Key": "' OR 1=1 --"}, {"X-API-Key": "x" * 5000}, {"Authorization": "Bearer " + "%00" * 10},
    {"Authorization": "Bearer ' OR ''='"}, {"X-API-Key": "ключ"}, {"Authorization": "Bearer"},
])
def test_hostile_keys_are_refused_in_json(client, headers):
    response = client.get("/api/v1/match?romes=D1102", headers=headers)
    _check(response, str(headers)[:40])
    assert response.status_code in (200, 401)  # "Bearer" alone is no key: anonymous

