"""A local SMTP server that keeps every message it accepts (aiosmtpd): for tests, benchmarks and development.

    python scripts/smtp_sink.py --port 2525     # prints one line per message received

`hold` lets a test stop the conversation at a chosen step (before RCPT is answered, or after the
whole message arrived but before the 250 that accepts it) to kill a client at that point.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One accepted message: envelope and parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def attachments(self) -> list[tuple[str, bytes]]:
        return [(part.get_filename() or "", part.get_payload(decode=True)) for part in self.message.iter_attachments()]

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""


@dataclass
class Hold:
    """Stop at step `at` ("rcpt" or "data") of the `nth` conversation reaching it (1-based)."""

    at: str
    nth: int
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: int = 0


class _Handler:
    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def _maybe_hold(self, step: str) -> None:
        hold = self.sink.hold
        if hold is None or hold.at != step:
            return
        with self.sink.lock:
            hold.seen += 1
            mine = hold.seen == hold.nth
        if mine:
            hold.reached.set()
            while not hold.release.is_set():
                await asyncio.sleep(0.02)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        await self._maybe_hold("rcpt")
        refusal = self.sink.refuse_to.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        if self.sink.refuse_data:
            return self.sink.refuse_data
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        # The whole message and its final dot are in: from here the server holds it (a real MTA queues it).
        with self.sink.lock:
            self.sink.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))
        await self._maybe_hold("data")
        return "250 Message accepted for delivery"


class SmtpSink:
    """Start with `with SmtpSink() as sink:`; `sink.port`, `sink.messages`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.lock = threading.Lock()
        self.messages: list[Received] = []
        self.hold: Hold | None = None
        # address → SMTP reply, e.g. {"rh@example.fr": "451 4.2.1 try later"}: RCPT of that address fails.
        self.refuse_to: dict[str, str] = {}
        self.refuse_data: str | None = None
        if port == 0:
            import socket
            with socket.socket() as sock:
                sock.bind((host, 0))
                port = sock.getsockname()[1]
        self.port = port
        self._controller = Controller(_Handler(self), hostname=host, port=port, decode_data=False,
                                      data_size_limit=50 * 1024 * 1024)

    def __enter__(self) -> "SmtpSink":
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.release.set()
        self._controller.stop()

    def by_message_id(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.lock:
            for received in self.messages:
                counts[received.message_id] = counts.get(received.message_id, 0) + 1
        return counts


def main() -> None:
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args()
    with SmtpSink(port=args.port) as sink:
        print(f"SMTP sink on 127.0.0.1:{sink.port}", flush=True)
        shown = 0
        while True:
            time.sleep(0.5)
            for received in sink.messages[shown:]:
                print(f"{received.message_id} → {', '.join(received.rcpt_tos)}: {received.message['Subject']}",
                      flush=True)
            shown = len(sink.messages)


if __name__ == "__main__":
    main()
