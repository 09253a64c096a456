"""Signed links: valid, expired, tampered, made for another purpose, and used twice (recorded in the store)."""
from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from app.services.tokens import TokenExpired, TokenInvalid, Tokens, TokenUsed
from app.store import get_store, write_tx
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures

KEY = "test-signing-key"


def test_a_genuine_link_carries_its_payload_and_other_purposes_or_keys_refuse_it() -> None:
    tokens = Tokens(KEY, max_age_s=60)
    token = tokens.issue("application.reply", {"id": "abc", "intention": "interview"})
    assert tokens.read("application.reply", token) == {"id": "abc", "intention": "interview"}
    with pytest.raises(TokenInvalid):
        tokens.read("optout.confirm", token)  # single-purpose: the purpose is part of the signature
    with pytest.raises(TokenInvalid):
        Tokens("another-key", 60).read("application.reply", token)


def test_a_tampered_link_is_refused() -> None:
    tokens = Tokens(KEY, max_age_s=60)
    token = tokens.issue("application.reply", {"id": "abc", "intention": "interview"})
    forged = URLSafeTimedSerializer("guess", salt="lba.application.reply").dumps({"id": "abc", "intention": "refusal"})
    payload, _, signature = token.rpartition(".")
    flipped = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (forged, flipped, token[:-2], token.replace(token[3], "x" if token[3] != "x" else "y", 1)):
        with pytest.raises(TokenInvalid):
            tokens.read("application.reply", bad)


def test_an_expired_link_is_refused_as_expired() -> None:
    tokens = Tokens(KEY, max_age_s=1)
    token = tokens.issue("application.reply", {"id": "abc"})
    time.sleep(2.1)
    with pytest.raises(TokenExpired):
        tokens.read("application.reply", token)


def test_a_single_use_link_works_once(store_url: str) -> None:
    tokens = Tokens(KEY, max_age_s=60)
    token = tokens.issue("application.reply", {"id": "abc"})
    store = get_store(store_url)
    with write_tx(store) as conn:
        assert tokens.consume(conn, "application.reply", token) == {"id": "abc"}
    with pytest.raises(TokenUsed), write_tx(store) as conn:
        tokens.consume(conn, "application.reply", token)
    other = tokens.issue("application.reply", {"id": "def"})
    with write_tx(store) as conn:
        assert tokens.consume(conn, "application.reply", other) == {"id": "def"}


def test_production_refuses_to_start_without_a_signing_key() -> None:
    from app.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="LBA_SECRET_KEY"):
        Settings.from_env({"LBA_ENV": "production"})
    assert Settings.from_env({"LBA_ENV": "production", "LBA_SECRET_KEY": "s" * 32}).secret_key == "s" * 32
    assert Settings.from_env({}).secret_key  # development signs with a fixed, documented non-secret key
