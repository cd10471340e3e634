"""Live captions in a terminal, for ``parley join``.

Two modes, because a person and a script want different things from the same stream:

- **TTY**: finals and status banners *settle* (they scroll up like ordinary output), while a small live area at
  the bottom is redrawn in place: one line per partial result still in flight (a partial is re-sent under the
  same ``resultId`` and each update replaces the whole result, see docs/protocol.md §2) and a progress bar for
  the file being streamed. Redrawing erases the live area (cursor up + erase to end of screen) and writes it
  again; every live line is cut to the terminal width so that no line wraps and the line count stays exact.
- **Plain** (stdout is not a terminal): only finals, one ``speaker: text`` line each, flushed at once, so the
  output can be piped; banners go to stderr and there are no partials or progress.

The few escape sequences needed are written here; widths are terminal *cells*, measured with ``rich.cells``
(East Asian wide characters take two columns, combining marks none), so CJK captions are cut to the width like
any other and the redraw stays in place.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.cells import cell_len, set_cell_size

ERASE_DOWN = "\x1b[J"  # erase from the cursor to the end of the screen
DIM, BOLD, RESET = "\x1b[2m", "\x1b[1m", "\x1b[0m"
GREEN, YELLOW, RED, CYAN = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[36m"
_STATUS_STYLE = {"started": GREEN, "resumed": GREEN, "stopped": YELLOW, "interrupted": YELLOW, "failed": RED}


def speaker_of(result: dict[str, Any]) -> str:
    """Who said it: the first item's external user id, else its attendee id, else the channel."""
    for alternative in result.get("alternatives", [])[:1]:
        for item in alternative.get("items", []):
            attendee = item.get("attendee") or {}
            name = attendee.get("externalUserId") or attendee.get("attendeeId")
            if name:
                return str(name)
    return str(result.get("channelId") or "?")


def text_of(result: dict[str, Any]) -> str:
    alternatives = result.get("alternatives") or []
    return str(alternatives[0].get("transcript", "")).strip() if alternatives else ""


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def _fit(text: str, width: int) -> str:
    """Cut to ``width`` terminal cells, keeping the end (the newest words are what matters live)."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return set_cell_size(text, width)
    # set_cell_size keeps the start; on the reversed text it keeps the end (a split wide character becomes a space)
    return "…" + set_cell_size(text[::-1], width - 1)[::-1]


@dataclass
class Progress:
    """How much of the file has been sent; ``total`` is ``None`` when the container does not say."""

    sent_s: float = 0.0
    total_s: float | None = None


@dataclass
class CaptionRenderer:
    """Turns transcript events into terminal output; see the module docstring for the two modes."""

    out: TextIO
    tty: bool
    err: TextIO = field(default_factory=lambda: sys.stderr)
    width: Callable[[], int] = field(default=lambda: shutil.get_terminal_size((80, 24)).columns)
    color: bool = True
    partials: dict[str, dict[str, Any]] = field(default_factory=dict)  # resultId -> latest partial, in order
    progress: Progress | None = None
    settled: list[str] = field(default_factory=list)  # plain text of every settled line (for callers/tests)
    _live_lines: int = 0
    _origin_ms: int | None = None

    @classmethod
    def for_stream(cls, out: TextIO, err: TextIO | None = None) -> CaptionRenderer:
        tty = bool(getattr(out, "isatty", lambda: False)())
        return cls(out=out, tty=tty, err=err or sys.stderr)

    # -- events ------------------------------------------------------------------------------------------

    def event(self, event: dict[str, Any]) -> None:
        """One tagged event from the JSON envelope (``{"type": "status"|"transcript", ...}``)."""
        if event.get("type") == "status":
            status = event.get("status") or {}
            self.status(str(status.get("type", "?")), status.get("message"))
        elif event.get("type") == "transcript":
            for result in (event.get("transcript") or {}).get("results", []):
                self.result(result)

    def result(self, result: dict[str, Any]) -> None:
        rid = str(result.get("resultId", ""))
        if self._origin_ms is None and result.get("startTimeMs"):
            self._origin_ms = int(result["startTimeMs"])
        if result.get("isPartial"):
            if self.tty:
                self.partials[rid] = result
                self._redraw()
            return
        self.partials.pop(rid, None)
        text = text_of(result)
        if not text:
            self._redraw()
            return
        speaker = speaker_of(result)
        self.settled.append(f"{speaker}: {text}")
        if not self.tty:
            self.out.write(f"{speaker}: {text}\n")
            self.out.flush()
            return
        offset = (int(result.get("startTimeMs") or 0) - (self._origin_ms or 0)) / 1000
        stamp = self._style(f"[{_clock(offset)}]", DIM)
        self._settle(f"{stamp} {self._style(speaker + ':', BOLD + CYAN)} {text}")

    def status(self, kind: str, message: str | None = None) -> None:
        line = f"── transcription {kind}" + (f": {message}" if message else "") + " ──"
        self.banner(line, _STATUS_STYLE.get(kind, ""))

    def banner(self, line: str, style: str = "") -> None:
        """A line for the person watching (connection state, transcription status)."""
        self.settled.append(line)
        if self.tty:
            self._settle(self._style(line, style))
        else:
            self.err.write(line + "\n")
            self.err.flush()

    def set_progress(self, sent_s: float, total_s: float | None) -> None:
        if not self.tty:
            return
        self.progress = Progress(sent_s, total_s)
        self._redraw()

    def finish(self) -> None:
        """Drop the live area (leftover partials were never finalized; the bar is done)."""
        self.partials.clear()
        self.progress = None
        self._redraw()

    # -- drawing -----------------------------------------------------------------------------------------

    def _style(self, text: str, style: str) -> str:
        return f"{style}{text}{RESET}" if style and self.color and self.tty else text

    def _erase_live(self) -> str:
        if not self._live_lines:
            return ""
        up = f"\x1b[{self._live_lines - 1}A" if self._live_lines > 1 else ""
        self._live_lines = 0
        return f"\r{up}{ERASE_DOWN}"

    def _live(self) -> list[str]:
        width = max(10, self.width() - 1)
        lines = []
        for result in self.partials.values():
            text = text_of(result)
            if text:
                speaker = speaker_of(result)
                lines.append(self._style(_fit(f"{speaker}: {text}", width), DIM))
        if self.progress is not None:
            lines.append(self._bar(width))
        return lines

    def _bar(self, width: int) -> str:
        p = self.progress
        assert p is not None
        if p.total_s:
            fraction = min(1.0, p.sent_s / p.total_s)
            label = f" {_clock(p.sent_s)}/{_clock(p.total_s)} {fraction * 100:3.0f}%"
            size = max(0, min(40, width - len(label) - 2))
            filled = round(fraction * size)
            return f"[{'#' * filled}{'-' * (size - filled)}]{label}"[:width]
        return f"sent {_clock(p.sent_s)}"[:width]

    def _redraw(self) -> None:
        if not self.tty:
            return
        live = self._live()
        self.out.write(self._erase_live() + "\n".join(live))
        self._live_lines = len(live)
        self.out.flush()

    def _settle(self, line: str) -> None:
        live = self._live()
        self.out.write(self._erase_live() + line + "\n" + "\n".join(live))
        self._live_lines = len(live)
        self.out.flush()
