"""Progress reporting for long ingests."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    """Called after each batch with the number of items done and the total, when known."""

    def __call__(self, done: int, total: int | None) -> None: ...


class TextProgress:
    """Writes ingest progress to a text stream (standard error by default).

    On a terminal it rewrites one line; elsewhere (a log file, CI) it writes a line at most every
    ``interval`` seconds, and always the last one when :meth:`finish` is called (``Client.ingest``
    calls it after the last batch). It also shows the rate since :meth:`start` (or the first call).
    """

    def __init__(self, stream: TextIO | None = None, *, label: str = "ingested", interval: float = 2.0) -> None:
        self._stream = stream
        self.label = label
        self.interval = interval
        self._start: float | None = None
        self._last_write = 0.0
        self._pending: str | None = None

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def _tty(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def _line(self, done: int, total: int | None) -> str:
        now = time.monotonic()
        if self._start is None:
            self._start = now
        elapsed = now - self._start
        rate = f", {done / elapsed:,.0f}/s" if elapsed > 0 else ""
        if total:
            return f"{self.label} {done:,}/{total:,} ({100 * done / total:.1f}%{rate})"
        return f"{self.label} {done:,}{rate}"

    def start(self) -> None:
        """Starts the clock of the rate (``Client.ingest`` calls it before the first batch)."""
        self._start = time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        line = self._line(done, total)
        now = time.monotonic()
        if self._tty():
            self.stream.write("\r\x1b[K" + line)
            self.stream.flush()
            self._pending = None
            return
        if now - self._last_write >= self.interval or (total is not None and done >= total):
            self.stream.write(line + "\n")
            self.stream.flush()
            self._last_write = now
            self._pending = None
        else:
            self._pending = line

    def finish(self) -> None:
        """Ends the report: the last count if it was not written yet, and a newline on a terminal."""
        if self._tty():
            self.stream.write("\n")
        elif self._pending is not None:
            self.stream.write(self._pending + "\n")
        self._pending = None
        self.stream.flush()
