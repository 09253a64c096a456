"""The referentials in use by a process, reloaded without a restart when a refresh publishes a new version."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from app.referentials.csvfile import ReferenceDataError

log = logging.getLogger(__name__)

#: How often a process looks at the data directory's version (a realpath and a few stat calls).
CHECK_SECONDS = 5.0
T = TypeVar("T")


def data_version(data_dir: str | Path) -> str:
    """A cheap fingerprint of a data directory: where it really is (the `current` link's target) and its files.

    A refresh publishes a new stamped directory and swaps the `current` symlink (indexers/referentials.py),
    which changes the real path; a file replaced in place changes its size or modification time.
    """
    real = os.path.realpath(data_dir)
    parts = [real]
    for folder, _, files in sorted(os.walk(real)):
        for name in sorted(files):
            if name.endswith(".csv"):
                try:
                    stat = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                parts.append(f"{os.path.relpath(os.path.join(folder, name), real)}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


class LiveReferentials(Generic[T]):
    """Holds one loaded referentials object and replaces it, whole, when its data directory changes.

    `check()` is meant to run before each request: at most every `check_seconds` it compares the
    directory's version with the loaded one; on a change a background thread loads the new files,
    calls every subscriber with them (so derived indexes, such as the métier index, rebuild from
    the same version) and only then swaps them in. Requests keep the previous version meanwhile;
    a version that fails to load is logged and kept out until the directory changes again.
    """

    def __init__(self, data_dir: str | Path, loader: Callable[[Path], T], current: T | None = None,
                 check_seconds: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.data_dir = Path(data_dir)
        self._loader = loader
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[T], None]] = []
        self._version = data_version(self.data_dir)
        self._current = current if current is not None else loader(self.data_dir)
        self._failed: str | None = None
        self._checked = clock()
        self._loading: threading.Thread | None = None

    @property
    def current(self) -> T:
        """The referentials in use."""
        return self._current

    @property
    def version(self) -> str:
        """The fingerprint of the data directory the current referentials were loaded from."""
        return self._version

    def subscribe(self, callback: Callable[[T], None]) -> None:
        """Call `callback(new_referentials)` on each reload, before the new version is swapped in."""
        self._subscribers.append(callback)

    def check(self) -> bool:
        """Start a background reload if the directory changed since the last look; True when one started."""
        now = self._clock()
        every = CHECK_SECONDS if self._check_seconds is None else self._check_seconds
        if now - self._checked < every:
            return False
        with self._lock:
            if now - self._checked < every or (self._loading and self._loading.is_alive()):
                return False
            self._checked = now
            version = data_version(self.data_dir)
            if version in (self._version, self._failed):
                return False
            self._loading = threading.Thread(target=self.reload, args=(version,), name="referentials-reload",
                                             daemon=True)
            self._loading.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a reload in progress (tests, CLI)."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout)

    def reload(self, version: str | None = None) -> bool:
        """Load the directory now, notify subscribers, swap; False (old version kept) when it does not load."""
        version = version or data_version(self.data_dir)
        started = time.perf_counter()
        try:
            refs = self._loader(self.data_dir)
            for callback in list(self._subscribers):
                callback(refs)
        except (ReferenceDataError, OSError, ValueError) as exc:
            log.error("referentials reload failed, keeping the version in use: %s", exc)
            self._failed = version
            return False
        except Exception:  # a subscriber failed: same rule, the version in use keeps serving
            log.exception("referentials reload failed in a subscriber, keeping the version in use")
            self._failed = version
            return False
        self._current, self._version, self._failed = refs, version, None
        log.info("referentials reloaded from %s in %.1f s", os.path.realpath(self.data_dir),
                 time.perf_counter() - started)
        return True
