"""E-mail: French Jinja templates rendered to text + HTML, and delivery with the standard library's SMTP client."""
from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.config import Settings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"


@dataclass(frozen=True)
class Rendered:
    """A message rendered from one template: its subject, plain text and HTML."""

    subject: str
    text: str
    html: str


class MailTemplates:
    """Templates `NAME.subject.txt`, `NAME.txt` and `NAME.html` under app/templates/mail/."""

    def __init__(self, folder: Path = TEMPLATES) -> None:
        loader = FileSystemLoader(str(folder))
        # HTML is autoescaped (applicants write free text); the text parts are not HTML.
        self._html = Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
        self._text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined,
                                 keep_trailing_newline=True)

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        """Render template `name` with `context`."""
        subject = " ".join(self._text.get_template(f"{name}.subject.txt").render(context).split())
        return Rendered(subject=subject, text=self._text.get_template(f"{name}.txt").render(context),
                        html=self._html.get_template(f"{name}.html").render(context))


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to reach the mail server."""

    host: str
    port: int
    security: str = "none"  # none | starttls | ssl
    user: str = ""
    password: str = ""
    timeout_s: float = 30.0
    mail_from: str = "ne-pas-repondre@labonnealternance.local"

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpConfig":
        """The SMTP settings of the service (SMTP_* variables)."""
        return cls(host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                   user=settings.smtp_user, password=settings.smtp_password, timeout_s=settings.smtp_timeout_s,
                   mail_from=settings.mail_from)


def build_message(row: Mapping[str, Any], mail_from: str) -> EmailMessage:
    """The MIME message of an outbox row: text, HTML alternative, optional attachment, fixed Message-ID."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = row["to_address"]
    if row.get("reply_to"):
        message["Reply-To"] = row["reply_to"]
    message["Subject"] = row["subject"]
    message["Message-ID"] = row["message_id"]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message.set_content(row["text_body"])
    if row.get("html_body"):
        message.add_alternative(row["html_body"], subtype="html")
    if row.get("attachment") is not None:
        maintype, _, subtype = (row.get("attachment_type") or "application/octet-stream").partition("/")
        message.add_attachment(bytes(row["attachment"]), maintype=maintype, subtype=subtype,
                               filename=row.get("attachment_name") or "piece-jointe")
    return message


class SmtpSender:
    """One SMTP connection that sends messages in two steps around a checkpoint (see `send`)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpSender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is None:
            config = self.config
            if config.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
                if config.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo_or_helo_if_needed()
            if config.user:
                smtp.login(config.user, config.password)
            self._smtp = smtp
        return self._smtp

    def close(self) -> None:
        """End the SMTP session (QUIT), ignoring a server that is already gone."""
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def send(self, message: EmailMessage, before_commit: Callable[[], None] | None = None) -> None:
        """Send `message`; call `before_commit` after the whole content is sent and before its final dot.

        Under SMTP a server takes a message only when it reads the terminating "." and answers 250;
        if the connection drops before that dot the server discards it (RFC 5321 §4.1.1.4). The
        checkpoint lets the outbox record "the server may now hold it" at the last moment a crash is
        still certain to deliver nothing. Raises smtplib.SMTPException or OSError on failure.
        """
        try:
            smtp = self._connect()
            recipients = [address for _, address in _addresses(message.get_all("To", []))]
            sender = _addresses([self.config.mail_from])[0][1]
            code, reply = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            for address in recipients:
                code, reply = smtp.rcpt(address)
                if code not in (250, 251):
                    # A response exception (not SMTPRecipientsRefused) so the outbox reads the code:
                    # 4xx retry, 5xx stop.
                    raise smtplib.SMTPResponseException(code, reply)
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise smtplib.SMTPDataError(code, reply)
            payload = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
            # Dot-stuffing: a line starting with "." gets a second one so it cannot end the data early.
            payload = re.sub(rb"(?m)^\.", b"..", payload)
            if not payload.endswith(b"\r\n"):
                payload += b"\r\n"
            smtp.send(payload)
            if before_commit is not None:
                before_commit()
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except (smtplib.SMTPException, OSError):
            # The session's state is unknown after a failure: the next message opens a new connection.
            if self._smtp is not None:
                self._smtp.close()
                self._smtp = None
            raise


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    from email.utils import getaddresses
    return getaddresses([str(value) for value in values])
