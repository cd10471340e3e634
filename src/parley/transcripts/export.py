"""Export a meeting's final transcript results as JSON lines, WebVTT or SRT.

* JSON lines follow Chime's media-capture transcript artifact: one ``{"transcript":{"results":[...]}}``
  per line, camelCase, absolute epoch-ms times, so tools written for Chime artifacts read ours unchanged.
* WebVTT/SRT cues are relative to the meeting start. A Transcribe result can run for tens of seconds, so
  results are cut into readable cues on item (word) boundaries using item times: at most
  ``max_duration_ms`` and ``max_chars`` per cue, two lines at most, a new cue on a speaker change or a long
  pause, and preferably after a sentence end.

Partial results are skipped: each is superseded by the final result with the same ``result_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from parley.transcripts.events import TranscriptAlternative, TranscriptResult
from parley.transcripts.wire import result_to_sdk_dict

_SENTENCE_END = (".", "?", "!", "。", "？", "！")


@dataclass(frozen=True, slots=True)
class CueOptions:
    """Readability limits for subtitle cues (defaults follow common broadcast subtitle guidance)."""

    max_duration_ms: int = 7000
    max_chars: int = 84
    max_line_chars: int = 42
    max_gap_ms: int = 1500


@dataclass(frozen=True, slots=True)
class Cue:
    """A subtitle cue; times are ms since the meeting start, ``lines`` are plain (unescaped) text."""

    start_ms: int
    end_ms: int
    speaker: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start_ms: int
    end_ms: int
    speaker: str
    punctuation: bool


def final_results(results: Iterable[TranscriptResult]) -> list[TranscriptResult]:
    """Final results in chronological order (stable for equal times, e.g. two channels)."""
    finals = [r for r in results if not r.is_partial]
    return sorted(finals, key=lambda r: (r.start_time_ms, r.end_time_ms))


def to_jsonl(results: Iterable[TranscriptResult]) -> str:
    """Media-capture-style JSON lines, one final result per line, each line newline-terminated."""
    lines = []
    for result in final_results(results):
        record = {"transcript": {"results": [result_to_sdk_dict(result)]}}
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n")
    return "".join(lines)


# ---------------------------------------------------------------------------------------------------
# Cue building


def _clean(text: str) -> str:
    # A newline inside item content would end a cue (VTT) or a block (SRT) early.
    return " ".join(text.split())


def _tokens(result: TranscriptResult) -> list[_Token]:
    if not result.alternatives:
        return []
    best: TranscriptAlternative = result.alternatives[0]
    tokens = [
        _Token(
            text=_clean(item.content),
            start_ms=min(item.start_time_ms, item.end_time_ms),
            end_ms=max(item.start_time_ms, item.end_time_ms),
            speaker=item.external_user_id or item.attendee_id,
            punctuation=item.type == "punctuation",
        )
        for item in best.items
    ]
    tokens = [t for t in tokens if t.text]
    if tokens or not best.transcript.strip():
        return tokens
    # No items (not produced by parley's engine, but legal): spread the words over the result's span in
    # proportion to their length, so long transcripts still split.
    words = best.transcript.split()
    span = max(result.end_time_ms - result.start_time_ms, 0)
    total = sum(len(w) for w in words)
    out: list[_Token] = []
    done = 0
    for word in words:
        start = result.start_time_ms + span * done // total
        done += len(word)
        out.append(_Token(word, start, result.start_time_ms + span * done // total, "", False))
    return out


def _join(tokens: list[_Token]) -> str:
    text = ""
    for token in tokens:
        text += token.text if token.punctuation and text else (" " if text else "") + token.text
    return text


def _units(tokens: list[_Token]) -> list[list[_Token]]:
    """Group each word with the punctuation that follows it: cues are cut between units only."""
    units: list[list[_Token]] = []
    for token in tokens:
        if token.punctuation and units:
            units[-1].append(token)
        else:
            units.append([token])
    return units


def _wrap(text: str, max_line_chars: int) -> tuple[str, ...]:
    """Split into at most two lines at the space that balances them best."""
    if len(text) <= max_line_chars:
        return (text,)
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if not spaces:
        return (text,)
    cut = min(spaces, key=lambda i: (max(i, len(text) - i - 1), i))
    return (text[:cut], text[cut + 1 :])


def _fits(text: str, options: CueOptions) -> bool:
    # The balanced wrap minimises the longer line, so if it overflows no two-line layout fits.
    lines = _wrap(text, options.max_line_chars)
    return len(text) <= options.max_chars and all(len(line) <= options.max_line_chars for line in lines)


def _should_break(cue: list[_Token], unit: list[_Token], options: CueOptions) -> bool:
    start = cue[0].start_ms
    end = max(t.end_ms for t in cue)
    text = _join(cue)
    if unit[0].speaker != cue[0].speaker:
        return True
    if unit[0].start_ms - end > options.max_gap_ms:
        return True
    if max(end, *(t.end_ms for t in unit)) - start > options.max_duration_ms:
        return True
    if not _fits(_join([*cue, *unit]), options):
        return True
    # Soft rule: a sentence end is a good place to cut once the cue is reasonably full.
    return text.endswith(_SENTENCE_END) and (
        len(text) >= options.max_chars // 2 or end - start >= options.max_duration_ms // 2
    )


def _make_cue(tokens: list[_Token], meeting_start_ms: int, options: CueOptions) -> Cue:
    start = max(min(t.start_ms for t in tokens) - meeting_start_ms, 0)
    end = max(max(t.end_ms for t in tokens) - meeting_start_ms, start + 1)  # cues must not be empty
    return Cue(start, end, tokens[0].speaker, _wrap(_join(tokens), options.max_line_chars))


def build_cues(
    results: Iterable[TranscriptResult], meeting_start_ms: int, options: CueOptions | None = None
) -> list[Cue]:
    """Cut final results into readable cues, ordered by start time."""
    opts = options or CueOptions()
    cues: list[Cue] = []
    for result in final_results(results):
        current: list[_Token] = []
        for unit in _units(_tokens(result)):
            if current and _should_break(current, unit, opts):
                cues.append(_make_cue(current, meeting_start_ms, opts))
                current = []
            current.extend(unit)
        if current:
            cues.append(_make_cue(current, meeting_start_ms, opts))
    return sorted(cues, key=lambda c: (c.start_ms, c.end_ms))


# ---------------------------------------------------------------------------------------------------
# Formats


def _timestamp(ms: int, decimal: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal}{millis:03d}"


def vtt_timestamp(ms: int) -> str:
    return _timestamp(ms, ".")


def srt_timestamp(ms: int) -> str:
    return _timestamp(ms, ",")


def vtt_escape(text: str) -> str:
    """Escape cue text per WebVTT: ``&``, ``<`` and ``>`` become character references."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(
    results: Iterable[TranscriptResult], meeting_start_ms: int, options: CueOptions | None = None
) -> str:
    """A WebVTT file; each cue names its speaker (externalUserId) with a ``<v>`` voice span."""
    blocks = ["WEBVTT\n"]
    for cue in build_cues(results, meeting_start_ms, options):
        body = "\n".join(vtt_escape(line) for line in cue.lines)
        if cue.speaker:
            body = f"<v {vtt_escape(cue.speaker)}>{body}"
        blocks.append(f"{vtt_timestamp(cue.start_ms)} --> {vtt_timestamp(cue.end_ms)}\n{body}\n")
    return "\n".join(blocks)


def to_srt(
    results: Iterable[TranscriptResult], meeting_start_ms: int, options: CueOptions | None = None
) -> str:
    """An SRT file; SRT has no speaker markup, so the first line is prefixed with ``Speaker: ``.

    The prefix is not counted against ``max_line_chars``: it is a label, not subtitle text.
    """
    blocks = []
    for number, cue in enumerate(build_cues(results, meeting_start_ms, options), start=1):
        lines = list(cue.lines)
        if cue.speaker:
            lines[0] = f"{cue.speaker}: {lines[0]}"
        timing = f"{srt_timestamp(cue.start_ms)} --> {srt_timestamp(cue.end_ms)}"
        blocks.append(f"{number}\n{timing}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)
