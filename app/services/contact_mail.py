"""E-mails of the contact flows: French templates under app/templates/mail/contact/, queued in the outbox."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

from app.services import outbox
from app.services.mailer import MailTemplates


@lru_cache(maxsize=1)
def _templates() -> MailTemplates:
    return MailTemplates()


def enqueue(conn: Connection, *, to: str, template: str, context: dict[str, Any], kind: str,
            ref: tuple[str, str], now: datetime) -> str:
    """Render `contact/<template>` and queue it inside the caller's transaction; returns the Message-ID."""
    rendered = _templates().render(f"contact/{template}", context)
    return outbox.enqueue(conn, kind=kind, to=to, rendered=rendered, ref=ref, now=now)
