"""The transactional store (SQLite by default, PostgreSQL through DATABASE_URL): tables, engines, migrations."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from app.store.applications import applications, idempotency_keys
from app.store.base import metadata

# Contact flows (callback requests, company opt-out requests): app/store/contact.py, revision 0003.
from app.store.contact import callback_requests, company_opt_out_requests  # noqa: E402,F401
from app.store.core import api_keys, company_opt_outs, deposited_offers, job_locks, job_runs
from app.store.engine import dispose_after_fork, dispose_all, engine_for, write_tx
from app.store.migrate import StoreOutOfDate, check_current, upgrade
from app.store.outbox import outbox, used_tokens

# Recruiter side (accounts, company-search cache, CFA partner companies, delegations): revision 0004.
from app.store.recruiters import cfa_partner_companies, company_lookups, offer_delegations, recruiter_accounts  # noqa: E402,F401

# Online ranking signal (daily aggregate counters, no personal data): app/store/usage.py, revision 0005.
from app.store.usage import usage_counters  # noqa: E402,F401

__all__ = ["metadata", "api_keys", "job_runs", "job_locks", "company_opt_outs", "deposited_offers", "applications",
           "idempotency_keys", "outbox", "used_tokens",
           "recruiter_accounts", "company_lookups", "cfa_partner_companies", "offer_delegations", "usage_counters",
           "get_store", "upgraded_store", "write_tx", "upgrade",
           "check_current", "StoreOutOfDate", "dispose_after_fork", "dispose_all"]

_checked: set[tuple[int, str]] = set()


def get_store(database_url: str) -> Engine:
    """This process's engine of `database_url`; raises StoreOutOfDate if its schema is behind.

    The revision is read once per process and URL; the engine opens connections lazily, so a
    process that forks after calling this never hands a connection to its children.
    """
    import os

    engine = engine_for(database_url)
    key = (os.getpid(), database_url)
    if key not in _checked:
        check_current(engine)
        _checked.add(key)
    return engine


def upgraded_store(database_url: str) -> Engine:
    """The engine of `database_url` after running every pending migration (`lba db upgrade`, tests)."""
    engine = engine_for(database_url)
    upgrade(engine)
    return get_store(database_url)
