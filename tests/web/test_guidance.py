"""Guidance pages: every module answers in French, the pay table is its data file, links sit at the right steps."""
from __future__ import annotations

import csv
import re
from urllib.parse import quote

from app.services.guidance import MODULES, PAY_FILE


def test_index_lists_every_module_and_each_answers(client):
    html = client.get("/conseils").get_data(as_text=True)
    for slug, module in MODULES.items():
        assert f'href="/conseils/{slug}"' in html
        page = client.get(f"/conseils/{slug}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert f"<h1>{module.title}</h1>".replace("'", "&#39;") in text
        assert len(re.findall(r"<h2>", text)) >= 2


def test_the_pay_table_is_the_data_file(client):
    html = client.get("/conseils/contrat-d-apprentissage").get_data(as_text=True)
    table = re.search(r'<table id="remuneration">.*?</table>', html, re.S).group(0)
    shown = [re.findall(r"<td>(\d+) %</td>", row) for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>", table)]
    with PAY_FILE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert shown == [[row["annee_1"], row["annee_2"], row["annee_3"]] for row in rows]
    assert [r["age"] for r in rows][0] in table and len(rows) == 4


def test_unknown_module_is_the_french_404(client):
    answer = client.get("/conseils/inconnu")
    assert answer.status_code == 404 and "Page non trouvée" in answer.get_data(as_text=True)


def test_guidance_is_linked_under_a_formation_and_after_an_application(client, demo_targets):
    formation = client.get(f"/formations/{quote(demo_targets['formation'], safe='')}").get_data(as_text=True)
    assert 'href="/conseils/contacter-un-cfa"' in formation and 'href="/conseils/contrat-d-apprentissage"' in formation
    done = client.get(f"/postuler/envoyee/company/{demo_targets['company']}?ref=x").get_data(as_text=True)
    assert 'href="/conseils/preparer-un-entretien"' in done and 'href="/conseils/trouver-une-entreprise"' in done
