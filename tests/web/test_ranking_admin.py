"""The ranking lab's explain page: admins only, every score component, two weights side by side with the moves."""
from __future__ import annotations

import html
import re

import sqlalchemy as sa

from app.config import DEV_PUBLIC_BASE_URL
from app.store import outbox, recruiter_accounts
from tests.forms import csrf_token, form_token
from tests.web.conftest import INSEE, ROME

PAGE = "/espace-pro/admin/classement"


def sign_in(web_app, email: str):  # type: ignore[no-untyped-def]
    """A fresh client signed in as `email` through the magic link, as a person does."""
    client = web_app.test_client()
    sent = client.post("/espace-pro/connexion", data={"email": email,
                                                      "csrf_token": form_token(client, "/espace-pro/connexion")})
    assert sent.status_code == 302
    with web_app.extensions["lba.store"].connect() as conn:
        body = conn.execute(sa.select(outbox.c.text_body).where(outbox.c.kind == "recruiter.login")
                            .order_by(outbox.c.id.desc())).scalars().first()
    link = re.search(rf"{re.escape(DEV_PUBLIC_BASE_URL)}(/espace-pro/connexion/lien\?token=\S+)", body).group(1)
    page = client.get(link)
    done = client.post("/espace-pro/connexion/lien", data={"token": link.split("token=")[1],
                                                            "csrf_token": csrf_token(page.text)})
    assert done.status_code == 302
    return client


def test_anonymous_goes_to_sign_in_and_non_admins_get_403(web_app):
    anonymous = web_app.test_client().get(PAGE)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/espace-pro/connexion")
    accounts = web_app.extensions["lba.accounts"]
    demoted = accounts.grant_admin("ancien-admin@lba.test")
    with web_app.extensions["lba.store"].begin() as conn:
        conn.execute(sa.update(recruiter_accounts).where(recruiter_accounts.c.id == demoted["id"])
                     .values(is_admin=False))
    refused = sign_in(web_app, "ancien-admin@lba.test").get(PAGE)
    assert refused.status_code == 403 and "réservée aux administrateurs" in html.unescape(refused.text)
    accounts.grant_admin("validateur@opco.test", "Opco EP")  # an OPCO validator decides accounts, not ranking
    assert sign_in(web_app, "validateur@opco.test").get(PAGE).status_code == 403


def test_the_page_compares_the_served_weights_with_a_file_and_shows_every_component(web_app):
    web_app.extensions["lba.accounts"].grant_admin("lab@lba.test")
    client = sign_in(web_app, "lab@lba.test")
    empty = client.get(PAGE)
    assert empty.status_code == 200
    text = html.unescape(empty.text)
    assert "Laboratoire du classement" in text and 'value="ranking/examples/worse.toml"' in text
    assert 'value="ranking/weights.toml"' in text
    token = csrf_token(empty.text)
    page = client.post(PAGE, data={"csrf_token": token, "romes": ROME, "insee": INSEE, "radius": "30",
                                   "weights": "ranking/examples/worse.toml"})
    assert page.status_code == 200, page.text[:2000]
    text = html.unescape(page.text)
    served, second = text.split('id="poids-en-service"')[1].split('id="seconds-poids"')
    assert served.count('class="lba-move-row') == 20 and second.count('class="lba-move-row') == 20
    # Every component of the formula is listed for each result, with its value, weight and share.
    names = set(re.findall(r'class="lba-component-name">(\w+)<', served))
    assert {"distance", "freshness", "saturation"} <= names
    # The deliberately worse weights move results: some go up, some down, and moves match the ranks shown.
    moves = re.findall(r'lba-move--(up|down|new|same|gone)', second)
    assert {"up", "down"} & set(moves) and len(moves) == 20
    first_keys = re.findall(r'data-key="([^"]+)"', served)
    second_keys = re.findall(r'data-key="([^"]+)"', second.split("Clics par rang")[0])
    for position, key in enumerate(second_keys, start=1):
        row = second.split(f'data-key="{key}"')[1].split("</tr>")[0]
        if key in first_keys:
            shift = first_keys.index(key) + 1 - position
            expected = "up" if shift > 0 else "down" if shift < 0 else "same"
            assert f"lba-move--{expected}" in row, (key, shift)
        else:
            assert "lba-move--new" in row
    gone = [key for key in first_keys if key not in second_keys]
    assert served.count("lba-move--gone") == len(gone)


def test_pasted_toml_is_checked_like_the_live_weights(web_app):
    web_app.extensions["lba.accounts"].grant_admin("lab2@lba.test")
    client = sign_in(web_app, "lab2@lba.test")
    token = csrf_token(client.get(PAGE).text)
    bad = client.post(PAGE, data={"csrf_token": token, "romes": ROME, "insee": INSEE,
                                  "toml": "distance = 0.3\ntext = = 2\n"})
    assert bad.status_code == 400 and "line 2" in html.unescape(bad.text)
    same = client.post(PAGE, data={"csrf_token": token, "romes": ROME, "insee": INSEE, "radius": "30",
                                   "toml": "# no override: the defaults\n"})
    assert same.status_code == 200
    # The served weights are the defaults too: nothing moves.
    moves = re.findall(r'lba-move--(up|down|new|same|gone)', html.unescape(same.text))
    assert moves and set(moves) == {"same"}
    unknown = client.post(PAGE, data={"csrf_token": token, "romes": "ZZ999", "insee": INSEE,
                                      "weights": "ranking/weights.toml"})
    assert unknown.status_code == 400
    outside = client.post(PAGE, data={"csrf_token": token, "romes": ROME, "insee": INSEE, "weights": "/etc/passwd"})
    assert outside.status_code == 400 and "Choisissez un fichier" in html.unescape(outside.text)
