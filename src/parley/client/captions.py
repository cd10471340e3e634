"""Live captions in a terminal, for ``parley join``.

Two modes, because a person and a script want different things from the same stream:

- **TTY**: finals and status banners *settle* (they scroll up like ordinary output), while a small live area at
  the bottom is redrawn in place: one line per partial result still in flight (a partial is re-sent under the
  same ``resultId`` and each update replaces the whole result, see docs/protocol.md §2) and a progress bar for
  the file being streamed. ``rich`` draws it: a ``Live`` display holds the live area and prints settled lines
  above it; every live line is cut to the terminal width (keeping its newest words) so none wraps.
- **Plain** (stdout is not a terminal): only finals, one ``speaker: text`` line each, flushed at once, so the
  output can be piped; banners go to stderr and there are no partials or progress.

Widths are terminal *cells* (``rich.cells``: East Asian wide characters take two columns, combining marks none),
so CJK captions are cut to the width like any other and the redraw stays in place.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.cells import cell_len, set_cell_size
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

_STATUS_STYLE = {
    "started": "green",
    "resumed": "green",
    "stopped": "yellow",
    "interrupted": "yellow",
    "failed": "red",
}


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
    _origin_ms: int | None = None
    _console: Console | None = None
    _live: Live | None = None

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
        line = Text.assemble((f"[{_clock(offset)}]", "dim"), " ", (f"{speaker}:", "bold cyan"), f" {text}")
        self._settle(line)

    def status(self, kind: str, message: str | None = None) -> None:
        line = f"── transcription {kind}" + (f": {message}" if message else "") + " ──"
        self.banner(line, _STATUS_STYLE.get(kind, ""))

    def banner(self, line: str, style: str = "") -> None:
        """A line for the person watching (connection state, transcription status)."""
        self.settled.append(line)
        if self.tty:
            self._settle(Text(line, style=style))
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
        if self._live is not None:
            self._live.update(Group(), refresh=True)
            self._live.stop()
            self._live = None

    # -- drawing -----------------------------------------------------------------------------------------

    def _screen(self) -> Console:
        if self._console is None:
            self._console = Console(
                file=self.out,
                force_terminal=True,
                color_system="standard" if self.color else None,
                no_color=not self.color,
                highlight=False,
                markup=False,
                emoji=False,
                soft_wrap=False,
            )
        self._console.width = self.width()
        return self._console

    def _area(self) -> Group:
        """The live area: a line per partial in flight, then the progress bar; each cut to the width."""
        width = max(10, self.width() - 1)
        lines: list[Text] = []
        for result in self.partials.values():
            text = text_of(result)
            if text:
                lines.append(Text(_fit(f"{speaker_of(result)}: {text}", width), style="dim", no_wrap=True))
        if self.progress is not None:
            lines.append(Text(self._bar(width), no_wrap=True))
        return Group(*lines)

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
        console = self._screen()
        if self._live is None:
            # Refreshed by us on every change, never by a timer thread; stdout/stderr are left alone.
            self._live = Live(
                self._area(),
                console=console,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self._live.update(self._area(), refresh=True)

    def _settle(self, line: Text) -> None:
        """Print ``line`` above the live area (which rich redraws below it)."""
        if self._live is None:
            self._screen().print(line)
            return
        self._live.update(
            self._area(), refresh=True
        )  # the area without what settles; the print redraws it below
        self._live.console.print(line)
