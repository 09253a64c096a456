"""The ranking weights a process serves, reloaded without a restart when their TOML file changes or on SIGHUP."""
from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ranking import DEFAULT_WEIGHTS, Weights, WeightsError, load_weights
from ranking.weights import weights_from_toml

log = logging.getLogger(__name__)

#: How often a process looks at the file (one stat call), as app/referentials/live.py does for its data.
CHECK_SECONDS = 2.0
DEFAULT_VERSION = "default"


def weights_version(content: bytes) -> str:
    """Short hash naming a weights file's content: logs and explain outputs name the weights by it."""
    return hashlib.sha256(content).hexdigest()[:10]


@dataclass(frozen=True)
class ServedWeights:
    """Weights and the version of the file they came from."""

    weights: Weights
    version: str


def read_weights(path: str | Path) -> ServedWeights:
    """Weights of `path` with their version; WeightsError (naming the line for TOML errors) when malformed."""
    content = Path(path).read_bytes()
    return ServedWeights(load_weights(path), weights_version(content))


def parse_weights(text: str, origin: str = "TOML text") -> ServedWeights:
    """Weights of TOML `text` (a pasted file) with the version its file would have; WeightsError when malformed."""
    return ServedWeights(weights_from_toml(text, origin), weights_version(text.encode("utf-8")))


class LiveWeights:
    """Holds the served weights and swaps them when the file's size or mtime changes (or on `request_reload`).

    `check()` runs before each request: at most every `check_seconds` one stat call; on a change the small
    file is read and validated in place, under a lock, so requests see the old or the new weights whole.
    A malformed file is logged with its error (tomllib names the line) and the previous weights keep serving
    until the file changes again.
    """

    def __init__(self, path: str | Path | None, check_seconds: float = CHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path) if path else None
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[ServedWeights], None]] = []
        self._forced = False
        if self.path is None:
            self._served, self._stamp = ServedWeights(DEFAULT_WEIGHTS, DEFAULT_VERSION), None
        else:
            self._stamp = self._file_stamp()
            self._served = read_weights(self.path)  # at start a malformed file is an error, not a fallback
        self._failed: tuple[int, int] | None = None
        self._checked = clock()

    @property
    def current(self) -> ServedWeights:
        """The weights in use and their version."""
        return self._served

    def subscribe(self, callback: Callable[[ServedWeights], None]) -> None:
        """Call `callback(new)` on each successful reload, before `current` changes."""
        self._subscribers.append(callback)

    def request_reload(self) -> None:
        """Reload at the next check whatever the file's stamp (the SIGHUP handler calls this)."""
        self._forced = True

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)  # type: ignore[arg-type]
        except OSError:
            return None
        return (stat.st_size, stat.st_mtime_ns)

    def check(self) -> bool:
        """Reload if the file changed since the last look (or a reload was requested); True on a swap."""
        if self.path is None:
            return False
        now = self._clock()
        if not self._forced and now - self._checked < self._check_seconds:
            return False
        with self._lock:
            forced, self._forced, self._checked = self._forced, False, now
            stamp = self._file_stamp()
            if stamp is None or (not forced and stamp in (self._stamp, self._failed)):
                return False
            return self._reload(stamp)

    def _reload(self, stamp: tuple[int, int]) -> bool:
        try:
            served = read_weights(self.path)  # type: ignore[arg-type]
        except (WeightsError, OSError) as error:
            log.error("ranking weights not reloaded, version %s keeps serving: %s", self._served.version, error)
            self._failed = stamp
            return False
        if served.version != self._served.version:
            for callback in list(self._subscribers):
                callback(served)
            log.info("ranking weights reloaded from %s: version %s (was %s)", self.path, served.version,
                     self._served.version)
        self._served, self._stamp, self._failed = served, stamp, None
        return True


def reload_on_sighup(live: LiveWeights) -> bool:
    """Make SIGHUP force a reload at the next request, when this thread may set handlers and none is set."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        return False
    if signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, None):
        return False  # gunicorn's master owns SIGHUP (it restarts workers, which read the file anew)
    signal.signal(signal.SIGHUP, lambda signum, frame: live.request_reload())
    return True
