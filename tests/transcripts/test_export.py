"""Transcript export: media-capture JSON lines, WebVTT and SRT, parsed back and checked precisely."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

import pytest

from parley.transcripts.events import TranscriptAlternative, TranscriptItem, TranscriptResult
from parley.transcripts.export import (
    CueOptions,
    build_cues,
    srt_timestamp,
    to_jsonl,
    to_srt,
    to_webvtt,
    vtt_timestamp,
)
from parley.transcripts.wire import result_to_sdk_dict

from .samples import T0, entity_result, final_result, language_id_result, partial_result, word

VTT_TIME = r"(\d{2,}):(\d{2}):(\d{2})\.(\d{3})"
SRT_TIME = r"(\d{2,}):(\d{2}):(\d{2}),(\d{3})"


@dataclass
class Parsed:
    start_ms: int
    end_ms: int
    speaker: str
    lines: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def _ms(groups: tuple[str, ...]) -> int:
    h, m, s, ms = (int(g) for g in groups)
    assert m < 60
    assert s < 60
    return ((h * 60 + m) * 60 + s) * 1000 + ms


def parse_vtt(text: str) -> list[Parsed]:
    """A strict reader for what we emit: header, blank-line separated cues, one voice span per cue."""
    assert text.startswith("WEBVTT\n\n") or text == "WEBVTT\n"
    assert text.endswith("\n")
    assert not text.endswith("\n\n\n")
    blocks = text.rstrip("\n").split("\n\n")
    assert blocks[0] == "WEBVTT"
    cues = []
    for block in blocks[1:]:
        timing, *body = block.split("\n")
        m = re.fullmatch(rf"{VTT_TIME} --> {VTT_TIME}", timing)
        assert m, timing
        assert body
        assert all(line for line in body)
        speaker = ""
        v = re.match(r"<v ([^>]*)>", body[0])
        if v:
            speaker = html.unescape(v.group(1))
            body[0] = body[0][v.end() :]
        for line in body:
            assert "<" not in line  # all markup escaped; the voice tag was the only tag
            assert ">" not in line
            assert "-->" not in line
            assert not re.search(r"&(?!amp;|lt;|gt;)", line)
        cues.append(
            Parsed(_ms(m.groups()[:4]), _ms(m.groups()[4:]), speaker, [html.unescape(x) for x in body])
        )
    return cues


def parse_srt(text: str) -> list[Parsed]:
    if not text:
        return []
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    cues = []
    for n, block in enumerate(text.rstrip("\n").split("\n\n"), start=1):
        counter, timing, *body = block.split("\n")
        assert counter == str(n)
        m = re.fullmatch(rf"{SRT_TIME} --> {SRT_TIME}", timing)
        assert m, timing
        assert body
        assert all(line for line in body)
        speaker, sep, first = body[0].partition(": ")
        assert sep
        cues.append(Parsed(_ms(m.groups()[:4]), _ms(m.groups()[4:]), speaker, [first, *body[1:]]))
    return cues


def _result(result_id: str, items: list[TranscriptItem], *, partial: bool = False) -> TranscriptResult:
    text = ""
    for item in items:
        text += item.content if item.type == "punctuation" and text else (" " if text else "") + item.content
    return TranscriptResult(
        result_id,
        "ch_0",
        partial,
        items[0].start_time_ms,
        items[-1].end_time_ms,
        (TranscriptAlternative(tuple(items), text),),
    )


def _monologue() -> TranscriptResult:
    """~20 s of speech: a sentence end, a long pause, a speaker change and markup-like words."""
    words = [
        "so",
        "today",
        "we",
        "walk",
        "through",
        "the",
        "quarterly",
        "numbers",
        "and",
        "what",
        "they",
        "mean",
    ]
    items: list[TranscriptItem] = []
    t = 10_000
    for w in words:
        items.append(word(w, t, t + 280, confidence=0.9))
        t += 300
    items.append(word(".", t, t, punct=True))
    for w in ["first", "revenue", "grew", "a&b", "<fast>", "while", "costs", "stayed", "flat"]:
        items.append(word(w, t, t + 280))
        t += 300
    t += 2500  # long pause
    for w in ["questions", "welcome"]:
        items.append(word(w, t, t + 400))
        t += 450
    items.append(word("?", t, t, punct=True))
    bob = ("att-2", "bob")
    for w in ["yes", "one", "question", "about", "hiring"]:
        items.append(word(w, t, t + 300, who=bob))
        t += 320
    return _result("mono", items)


def _all_words(result: TranscriptResult) -> str:
    return result.alternatives[0].transcript


# -- JSON lines -------------------------------------------------------------------------------------------


def test_jsonl_is_media_capture_shape_one_final_result_per_line() -> None:
    results = [language_id_result(), partial_result(), final_result(), entity_result()]
    text = to_jsonl(results)
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 3  # the partial is skipped
    parsed = [json.loads(line) for line in lines]
    expected = [final_result(), entity_result(), language_id_result()]  # chronological
    for record, result in zip(parsed, expected, strict=True):
        assert record == {"transcript": {"results": [result_to_sdk_dict(result)]}}
        assert record["transcript"]["results"][0]["isPartial"] is False
    item = parsed[0]["transcript"]["results"][0]["alternatives"][0]["items"][0]
    assert set(item) >= {"type", "startTimeMs", "endTimeMs", "attendee", "content"}
    assert item["startTimeMs"] == T0 + 1000  # absolute epoch ms, as in Chime artifacts


def test_jsonl_empty() -> None:
    assert to_jsonl([]) == ""
    assert to_jsonl([partial_result()]) == ""


# -- WebVTT --------------------------------------------------------------------------------------------


def test_vtt_basic_cues_speakers_and_escaping() -> None:
    vtt = to_webvtt([entity_result(), final_result(), partial_result()], T0)
    cues = parse_vtt(vtt)
    assert [(c.start_ms, c.end_ms, c.speaker, c.text) for c in cues] == [
        (1000, 2600, "alice", "The quick fox ***, Zoë."),
        (3000, 4000, "bob <b&b>", "my name is [NAME]"),
    ]
    assert "<v bob &lt;b&amp;b&gt;>my name is [NAME]" in vtt
    assert "00:00:01.000 --> 00:00:02.600\n<v alice>The quick fox ***, Zoë.\n" in vtt


def test_vtt_empty() -> None:
    assert to_webvtt([], T0) == "WEBVTT\n"
    assert parse_vtt(to_webvtt([], T0)) == []


def test_timestamps() -> None:
    ms = ((1 * 60 + 2) * 60 + 3) * 1000 + 4
    assert vtt_timestamp(ms) == "01:02:03.004"
    assert srt_timestamp(ms) == "01:02:03,004"
    assert vtt_timestamp(0) == "00:00:00.000"
    assert vtt_timestamp(100 * 3_600_000) == "100:00:00.000"


def test_cue_times_are_relative_to_meeting_start_and_clamped() -> None:
    result = _result("r", [word("hello", 3_723_004, 3_723_504)])
    [cue] = parse_vtt(to_webvtt([result], T0))
    assert (cue.start_ms, cue.end_ms) == (3_723_004, 3_723_504)
    assert "01:02:03.004 --> 01:02:03.504" in to_webvtt([result], T0)
    [late_start] = build_cues([result], T0 + 4_000_000)  # meeting "started" after the words: clamp to 0
    assert late_start.start_ms == 0
    assert late_start.end_ms > late_start.start_ms


def test_zero_length_items_still_make_a_non_empty_cue() -> None:
    [cue] = build_cues([_result("r", [word("hm", 500, 500)])], T0)
    assert (cue.start_ms, cue.end_ms) == (500, 501)


def test_vtt_escapes_markup_in_text() -> None:
    result = _result("r", [word("a&b", 0, 100), word("<script>", 100, 200), word("x-->y", 200, 300)])
    vtt = to_webvtt([result], T0)
    assert "a&amp;b &lt;script&gt; x--&gt;y" in vtt
    [cue] = parse_vtt(vtt)
    assert cue.text == "a&b <script> x-->y"


# -- splitting ----------------------------------------------------------------------------------------------


def _check_readable(cues: list[Parsed], options: CueOptions) -> None:
    starts = [c.start_ms for c in cues]
    assert starts == sorted(starts)
    for cue in cues:
        assert cue.end_ms > cue.start_ms
        assert cue.end_ms - cue.start_ms <= options.max_duration_ms
        assert len(cue.text) <= options.max_chars
        assert 1 <= len(cue.lines) <= 2
        for line in cue.lines:
            assert len(line) <= options.max_line_chars
        assert not cue.text.startswith((".", ",", "?"))


def test_long_result_is_split_into_readable_cues() -> None:
    result = _monologue()
    options = CueOptions()
    cues = parse_vtt(to_webvtt([result], T0))
    assert len(cues) >= 4
    _check_readable(cues, options)
    # No word lost, duplicated or reordered; punctuation stays attached to its word.
    assert " ".join(c.text for c in cues) == _all_words(result)


def test_split_points_follow_item_times_and_boundaries() -> None:
    result = _monologue()
    items = result.alternatives[0].items
    cues = build_cues([result], T0)
    pos = 0
    for cue in cues:
        n = len(cue.text.replace(",", " ,").replace(".", " .").replace("?", " ?").split())
        group = items[pos : pos + n]
        pos += n
        assert cue.start_ms == min(i.start_time_ms for i in group) - T0
        assert cue.end_ms == max(i.end_time_ms for i in group) - T0
        assert {i.external_user_id for i in group} == {cue.speaker}
    assert pos == len(items)


def test_split_on_sentence_end_pause_and_speaker_change() -> None:
    cues = build_cues([_monologue()], T0)
    texts = [c.text for c in cues]
    # The first sentence is long enough that the cut lands right after its full stop.
    assert any(t.endswith("what they mean.") for t in texts), texts
    assert any(t.startswith("first revenue") for t in texts), texts
    # The 2.5 s pause starts a new cue.
    assert any(t.startswith("questions welcome") for t in texts), texts
    # Bob gets his own cue.
    bob = [c for c in cues if c.speaker == "bob"]
    assert [c.text for c in bob] == ["yes one question about hiring"]
    assert all(c.speaker == "alice" for c in cues if c not in bob)


def test_two_lines_are_balanced() -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda"]
    result = _result("r", [word(w, i * 100, i * 100 + 90) for i, w in enumerate(words)])
    [cue] = build_cues([result], T0)
    assert len(cue.lines) == 2
    first, second = cue.lines
    assert abs(len(first) - len(second)) <= max(len(w) for w in words)
    assert f"{first} {second}" == " ".join(words)


def test_custom_limits() -> None:
    result = _monologue()
    options = CueOptions(max_duration_ms=2000, max_chars=30, max_line_chars=20)
    cues = parse_srt(to_srt([result], T0, options))
    _check_readable(cues, options)
    assert " ".join(c.text for c in cues) == _all_words(result)


def test_result_without_items_is_split_by_estimated_word_times() -> None:
    text = " ".join(["word"] * 60)
    result = TranscriptResult("r", "ch_0", False, T0, T0 + 30_000, (TranscriptAlternative((), text),))
    cues = parse_vtt(to_webvtt([result], T0))
    _check_readable(cues, CueOptions())
    assert " ".join(c.text for c in cues) == text
    assert cues[0].start_ms == 0
    assert cues[-1].end_ms == 30_000
    assert all(c.speaker == "" for c in cues)
    assert "<v" not in to_webvtt([result], T0)


def test_overlapping_channels_are_ordered_by_start() -> None:
    a = _result("a", [word("alpha", 1000, 3000)])
    b = _result("b", [word("beta", 500, 2000, who=("att-2", "bob"))])
    cues = parse_vtt(to_webvtt([a, b], T0))
    assert [c.text for c in cues] == ["beta", "alpha"]


# -- SRT -------------------------------------------------------------------------------------------------


def test_srt_format() -> None:
    results = [_monologue(), final_result(), partial_result()]
    srt = to_srt(results, T0)
    cues = parse_srt(srt)
    vtt_cues = parse_vtt(to_webvtt(results, T0))
    assert [(c.start_ms, c.end_ms, c.speaker, c.lines) for c in cues] == [
        (c.start_ms, c.end_ms, c.speaker, c.lines) for c in vtt_cues
    ]
    assert srt.startswith("1\n00:00:01,000 --> 00:00:02,600\nalice: The quick fox ***, Zoë.\n\n2\n")
    assert "." not in re.sub(r"[^\n]*-->[^\n]*", "", srt).split("\n")[1]  # times use a comma


def test_srt_leaves_text_unescaped() -> None:
    result = _result("r", [word("a&b", 0, 100), word("<x>", 100, 200)])
    assert "alice: a&b <x>\n" in to_srt([result], T0)


def test_srt_empty() -> None:
    assert to_srt([], T0) == ""


@pytest.mark.parametrize("exporter", [to_webvtt, to_srt])
def test_partials_never_exported(exporter) -> None:  # type: ignore[no-untyped-def]
    assert "facts" not in exporter([partial_result()], T0)
