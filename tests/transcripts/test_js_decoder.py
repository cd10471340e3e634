"""Byte-compatibility proof: the real amazon-chime-sdk-js converter decodes our protobuf into our JSON.

Runs tests/js/decode_transcript.mjs under Node 20 with amazon-chime-sdk-js@3.32.0 (`npm ci` once per
session). Missing Node is a failure, not a skip: without it nothing proves SDK clients can read us.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from parley.transcripts.events import (
    Transcript,
    TranscriptAlternative,
    TranscriptEntity,
    TranscriptEvent,
    TranscriptionStatus,
    TranscriptItem,
    TranscriptLanguageWithScore,
    TranscriptResult,
)
from parley.transcripts.wire import (
    from_sdk_transcript_frame,
    to_json,
    to_sdk_transcript_frame,
    to_signal_data_message_frame,
)

from . import vectors
from .samples import T0, rich_events

JS_DIR = Path(__file__).resolve().parents[1] / "js"
SDK_VERSION = "3.32.0"

Decoder = Callable[[list[tuple[str, bytes]]], list[dict]]


def _sdk_installed() -> bool:
    manifest = JS_DIR / "node_modules" / "amazon-chime-sdk-js" / "package.json"
    return manifest.exists() and json.loads(manifest.read_text())["version"] == SDK_VERSION


@pytest.fixture(scope="session")
def js_decode() -> Decoder:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node (>= 20) is required: it runs the real JS SDK decoder that proves wire compatibility"
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.fail(f"node >= 20 is required, found {version}")
    if not _sdk_installed():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is required to install amazon-chime-sdk-js for the JS decoder test")
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True, timeout=240
        )
        if proc.returncode != 0 or not _sdk_installed():
            pytest.fail(f"npm ci in {JS_DIR} failed:\n{proc.stdout}\n{proc.stderr}")

    def decode(frames: list[tuple[str, bytes]]) -> list[dict]:
        stdin = "".join(f"{mode} {base64.b64encode(data).decode()}\n" for mode, data in frames)
        proc = subprocess.run(
            [node, "decode_transcript.mjs"],
            cwd=JS_DIR,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        out = [json.loads(line) for line in proc.stdout.splitlines()]
        assert len(out) == len(frames), proc.stderr
        return out

    return decode


def _random_events(seed: int = 7, count: int = 40) -> list[TranscriptEvent]:
    """Partial→final sequences with every optional field randomly present or absent."""
    rng = random.Random(seed)
    maybe: Callable[[object], object] = lambda v: v if rng.random() < 0.5 else None  # noqa: E731
    events: list[TranscriptEvent] = []
    for n in range(count):
        start = T0 + n * 4000 + rng.randrange(500)
        words = [
            rng.choice(["alpha", "beta", "gamma", "δέλτα", "日本", "a&b", "<x>", '"q"']) for _ in range(6)
        ]
        items = []
        t = start
        for w in words:
            d = rng.randrange(50, 700)
            punct = rng.random() < 0.2
            items.append(
                TranscriptItem(
                    "punctuation" if punct else "pronunciation",
                    t,
                    t + d,
                    f"att-{n % 3}",
                    f"user-{n % 3}",
                    "," if punct else w,
                    vocabulary_filter_match=maybe(rng.random() < 0.5),  # type: ignore[arg-type]
                    confidence=maybe(rng.random()),  # type: ignore[arg-type]
                    stable=maybe(rng.random() < 0.5),  # type: ignore[arg-type]
                )
            )
            t += d
        entities = tuple(
            TranscriptEntity("PII", rng.random(), w, start, t, maybe(rng.choice(["NAME", "", "SSN"])))  # type: ignore[arg-type]
            for w in words[: rng.randrange(3)]
        )
        langs = tuple(
            TranscriptLanguageWithScore(code, rng.random()) for code in ["en-US", "de-DE"][: rng.randrange(3)]
        )
        result = TranscriptResult(
            result_id=f"res-{n // 2}",
            channel_id=rng.choice(["ch_0", "ch_1", ""]),
            is_partial=n % 2 == 0,
            start_time_ms=start,
            end_time_ms=t,
            alternatives=(TranscriptAlternative(tuple(items), " ".join(words), entities),),
            language_code=maybe(rng.choice(["en-US", ""])),  # type: ignore[arg-type]
            language_identification=langs,
        )
        events.append(Transcript((result,)))
        if n % 10 == 9:
            kind = rng.choice(["started", "interrupted", "resumed", "stopped", "failed"])
            events.append(TranscriptionStatus(kind, t, "local", "{}", maybe("msg")))  # type: ignore[arg-type]
    return events


def test_js_converter_reads_each_rich_event_as_our_json(js_decode: Decoder) -> None:
    events = rich_events()
    decoded = js_decode([("transcript", to_sdk_transcript_frame([e])) for e in events])
    for event, js in zip(events, decoded, strict=True):
        assert js == json.loads(to_json([event])), event


def test_js_converter_reads_a_multi_event_frame(js_decode: Decoder) -> None:
    events = rich_events()
    [js] = js_decode([("transcript", to_sdk_transcript_frame(events))])
    assert js == json.loads(to_json(events))


def test_js_converter_reads_randomized_events(js_decode: Decoder) -> None:
    events = _random_events()
    decoded = js_decode([("transcript", to_sdk_transcript_frame([e])) for e in events])
    for event, js in zip(events, decoded, strict=True):
        assert js == json.loads(to_json([event])), event


def test_full_signaling_path(js_decode: Decoder) -> None:
    """0x05 || SdkSignalFrame → DataMessage as SendAndReceiveDataMessagesTask builds it → converter."""
    events = rich_events()
    ingest = 1_795_500_000_123_456_789
    message = to_signal_data_message_frame(
        events, ingest_time_ns=ingest, sender_attendee_id="", sender_external_user_id=""
    )
    [js] = js_decode([("signal", message)])
    assert "error" not in js, js
    assert js["frame"] == {"timestampMs": ingest // 1_000_000, "type": 22}
    [dm] = js["messages"]
    assert dm["topic"] == "aws:chime:transcription"
    assert dm["throttled"] is False
    assert dm["timestampMs"] == pytest.approx(ingest / 1e6)
    assert (dm["senderAttendeeId"], dm["senderExternalUserId"]) == ("", "")
    assert {"events": dm["events"]} == json.loads(to_json(events))


def test_golden_status_vectors_agree(js_decode: Decoder) -> None:
    names = [
        "TRANSCRIPTION_STATUS_STARTED",
        "TRANSCRIPTION_STATUS_STARTED_WITH_MESSAGE",
        "TRANSCRIPTION_STATUS_ALL",
        "TRANSCRIPTION_STATUS_INVALID",
        "TRANSCRIPT_MIXED",
    ]
    raws = [base64.b64decode(vectors.ALL[n]) for n in names]
    decoded = js_decode([("transcript", raw) for raw in raws])
    for name, raw, js in zip(names, raws, decoded, strict=True):
        ours = json.loads(to_json(from_sdk_transcript_frame(raw)))
        if name == "TRANSCRIPT_MIXED":
            # Result times are unset in this vector: the SDK hands the app a Long object, not a number.
            result = js["events"][1]["transcript"]["results"][0]
            assert result["startTimeMs"] == {"low": 0, "high": 0, "unsigned": False}
            result["startTimeMs"] = result["endTimeMs"] = 0
        assert js == ours, name
    assert decoded[3] == {"events": []}  # unknown status type skipped by both


def test_absent_int64_becomes_a_long_which_is_why_we_always_write_times(js_decode: Decoder) -> None:
    raw = base64.b64decode(vectors.TRANSCRIPT_ENTITY)
    [js_sdk, js_ours] = js_decode(
        [("transcript", raw), ("transcript", to_sdk_transcript_frame(from_sdk_transcript_frame(raw)))]
    )
    long_zero = {"low": 0, "high": 0, "unsigned": False}
    sdk_entity = js_sdk["events"][0]["transcript"]["results"][0]["alternatives"][0]["entities"][1]
    ours_entity = js_ours["events"][0]["transcript"]["results"][0]["alternatives"][0]["entities"][1]
    assert sdk_entity["startTimeMs"] == long_zero
    assert ours_entity["startTimeMs"] == 0


def test_json_payload_is_not_what_the_sdk_expects(js_decode: Decoder) -> None:
    """Transcription data must be protobuf: a JSON payload makes the converter throw."""
    [js] = js_decode([("transcript", to_json(rich_events()[:1]).encode())])
    assert js["error"].startswith("Cannot decode transcript data message")
