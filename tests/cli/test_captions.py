"""The caption renderer: partials replace each other in place, finals settle, plain output is finals only.

A tiny terminal model replays what the renderer (rich's Live display) wrote — CR, LF, cursor up, erase line,
erase down, cursor show/hide and colours ignored — so the tests check what a person would see on screen, not the
exact escape sequences.
"""

from __future__ import annotations

import io
import re
from typing import Any

from parley.client.captions import CaptionRenderer

_CSI = re.compile(r"\x1b\[\??(\d*)([A-Za-z])")


def screen(output: str) -> list[str]:
    """The lines a terminal shows after ``output`` (no wrapping: the renderer never exceeds the width)."""
    lines, row, col, i = [""], 0, 0, 0
    while i < len(output):
        match = _CSI.match(output, i)
        if match:
            n, op = int(match.group(1) or 1), match.group(2)
            if op == "A":
                row = max(0, row - n)
            elif op == "J":
                lines[row] = lines[row][:col]
                del lines[row + 1 :]
            elif op == "K":  # erase in line: 2 = the whole line, else from the cursor on
                lines[row] = "" if n == 2 else lines[row][:col]
            elif op == "G":  # cursor to column n
                col = n - 1
            i = match.end()
            continue
        ch = output[i]
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + ch + line[col + 1 :]
            col += 1
        i += 1
    return [line.rstrip() for line in lines]


def result(
    rid: str, text: str, partial: bool, who: str = "sam", start: int = 1_800_000_000_000
) -> dict[str, Any]:
    items = [
        {"type": "pronunciation", "content": w, "attendee": {"attendeeId": "a-1", "externalUserId": who}}
        for w in text.split()
    ]
    return {
        "resultId": rid,
        "channelId": "ch_0",
        "isPartial": partial,
        "startTimeMs": start,
        "endTimeMs": start + 1000,
        "alternatives": [{"transcript": text, "items": items}],
    }


def tty_renderer() -> tuple[CaptionRenderer, io.StringIO]:
    out = io.StringIO()
    return CaptionRenderer(out=out, tty=True, err=io.StringIO(), width=lambda: 60, color=False), out


def test_partials_replace_in_place_and_finals_settle() -> None:
    r, out = tty_renderer()
    r.status("started")
    r.result(result("r1", "the quarterly", True))
    r.result(result("r1", "the quarterly budget", True))
    assert screen(out.getvalue()) == ["── transcription started ──", "sam: the quarterly budget"]

    r.result(result("r1", "The quarterly budget review.", False))
    r.result(result("r2", "is on", True, start=1_800_000_002_500))
    assert screen(out.getvalue()) == [
        "── transcription started ──",
        "[00:00] sam: The quarterly budget review.",
        "sam: is on",
    ]
    r.result(result("r2", "Is on Thursday.", False, start=1_800_000_002_500))
    r.finish()
    assert screen(out.getvalue()) == [
        "── transcription started ──",
        "[00:00] sam: The quarterly budget review.",
        "[00:02] sam: Is on Thursday.",
        "",
    ]


def test_two_speakers_and_progress_share_the_live_area() -> None:
    r, out = tty_renderer()
    r.set_progress(1.0, 4.0)
    r.result(result("a", "hello there", True, who="sam"))
    r.result(result("b", "good morning", True, who="lee"))
    r.set_progress(2.0, 4.0)
    shown = screen(out.getvalue())
    assert shown[:2] == ["sam: hello there", "lee: good morning"]
    assert shown[2].startswith("[")
    assert shown[2].endswith("00:02/00:04  50%")
    assert len(shown) == 3

    r.result(result("b", "Good morning.", False, who="lee"))
    shown = screen(out.getvalue())
    assert shown[0] == "[00:00] lee: Good morning."
    assert shown[1] == "sam: hello there"
    assert "00:02/00:04" in shown[2]
    assert all(len(line) < 60 for line in shown)


def test_long_partials_are_cut_to_the_width_keeping_the_newest_words() -> None:
    r, out = tty_renderer()
    r.result(result("r", " ".join(f"word{i}" for i in range(40)), True))
    (line,) = screen(out.getvalue())
    assert len(line) == 59
    assert line.startswith("…")
    assert line.endswith("word39")


def test_wide_characters_are_cut_by_terminal_cells_so_the_redraw_stays_in_place() -> None:
    from rich.cells import cell_len

    r, out = tty_renderer()
    chinese = "我们明天下午三点在会议室讨论第四季度的预算和销售计划然后再决定下一步" * 2
    r.result(result("r", chinese, True))
    r.result(result("r", chinese + "。", True))
    (line,) = screen(out.getvalue())
    assert cell_len(line) <= 59, "a line wider than the terminal wraps and breaks the in-place redraw"
    assert line.endswith("一步。")
    r.result(result("s", "日本語の字幕もそのまま表示されます", True, who="ken"))
    assert all(cell_len(x) <= 59 for x in screen(out.getvalue()))


def test_plain_output_is_finals_only() -> None:
    out, err = io.StringIO(), io.StringIO()
    r = CaptionRenderer(out=out, tty=False, err=err)
    r.event({"type": "status", "status": {"type": "started"}})
    r.set_progress(1.0, 2.0)
    r.event({"type": "transcript", "transcript": {"results": [result("r", "Hel", True)]}})
    r.event({"type": "transcript", "transcript": {"results": [result("r", "Hello.", False)]}})
    r.event({"type": "transcript", "transcript": {"results": [result("s", "", False)]}})
    r.event({"type": "status", "status": {"type": "failed", "message": "model crashed"}})
    r.finish()
    assert out.getvalue() == "sam: Hello.\n"
    assert err.getvalue() == "── transcription started ──\n── transcription failed: model crashed ──\n"
    assert "\x1b" not in out.getvalue() + err.getvalue()
