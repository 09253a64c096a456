"""The store's one Alembic migration history: upgrade a database, and refuse one that is behind."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The revision of the tables that `metadata.create_all` made before the history existed.
BASELINE = "0001"


class StoreOutOfDate(RuntimeError):
    """The database's schema is older (or newer) than this code's migration history."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current, self.head = current, head
        super().__init__(
            f"La base de données n'est pas à jour (version {current or 'aucune'}, attendue {head}) : "
            f"lancez `lba db upgrade`. / The database schema is behind (revision {current or 'none'}, "
            f"expected {head}): run `lba db upgrade`.")


def alembic_config(engine: Engine | None = None) -> Config:
    """The Alembic configuration of the store; `engine` is the database it works on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest revision of the history this code ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    """Whether the database is exactly at this code's head revision."""
    return current_revision(engine) == head_revision()


def check_current(engine: Engine) -> None:
    """Raise StoreOutOfDate (naming `lba db upgrade`) unless the database is at the head revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise StoreOutOfDate(current, head)


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the database to `revision`; returns the revision it is at afterwards.

    A store created by the old `create_all` (tables present, no version table) is stamped at the
    baseline first, so its existing rows are kept and only later revisions run.
    """
    config = alembic_config(engine)
    if current_revision(engine) is None and sa.inspect(engine).has_table("api_keys"):
        command.stamp(config, BASELINE)
    command.upgrade(config, revision)
    after = current_revision(engine)
    assert after is not None
    return after
