"""The join page's own protobuf codec (web/static/js/protobuf.js) against the Python protobuf runtime, under Node.

The page speaks Chime signaling without a protobuf library, so its reader and writer are checked here: every
message type of the schema, filled at random, decodes in JS to exactly the fields Python wrote and encodes back to
a message Python reads as equal; packed repeated fields and unknown fields are read; damaged bytes raise its
ProtobufError and nothing else. Transcription data messages become, field for field, the events the audio
socket's JSON carries (what captions.js renders). The committed JS schema is what the .proto generates.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from parley.proto import chime_signaling_pb2 as pb
from parley.proto import schema
from parley.transcripts.wire import to_json, to_sdk_transcript_frame
from tests.transcripts.samples import rich_events
from tests.transcripts.test_js_decoder import _random_events

SCRIPT = Path(__file__).resolve().parents[1] / "js" / "page_codec.mjs"


@pytest.fixture(scope="module")
def js() -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (>= 20) is required: it runs the join page's protobuf codec")

    def run(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        proc = subprocess.run(
            [node, str(SCRIPT)],
            input="".join(json.dumps(r) + "\n" for r in requests),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        answers = [json.loads(line) for line in proc.stdout.splitlines()]
        assert len(answers) == len(requests), proc.stderr
        return answers

    return run


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def plain(message: Message) -> dict[str, Any]:
    """``message`` as the JS codec represents it: set fields by name, enums as numbers, bytes as {"$b64"}."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        convert = _plain_value(field)
        out[field.name] = [convert(v) for v in value] if field.is_repeated else convert(value)
    return out


def _plain_value(field: FieldDescriptor) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return plain
    if field.type == FieldDescriptor.TYPE_BYTES:
        return lambda v: {"$b64": b64(v)}
    return lambda v: v


def without_empty_lists(value: Any) -> Any:
    """The JS decoder gives every repeated field, absent ones as []; Python lists only the set ones."""
    if isinstance(value, dict):
        return {k: without_empty_lists(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [without_empty_lists(v) for v in value]
    return value


def random_message(cls: type[Message], rng: random.Random, depth: int = 0) -> Message:
    """A message of ``cls`` with each field set or not at random, of every type the schema uses."""
    message = cls()
    for field in cls.DESCRIPTOR.fields:
        if rng.random() < 0.35 and not field.is_required:
            continue
        if field.is_repeated:
            count = rng.randrange(4)
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                if depth < 4:
                    for _ in range(count):
                        getattr(message, field.name).add().CopyFrom(
                            random_message(field.message_type._concrete_class, rng, depth + 1)
                        )
            else:
                getattr(message, field.name).extend(_random_scalar(field, rng) for _ in range(count))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth < 4:
                getattr(message, field.name).CopyFrom(
                    random_message(field.message_type._concrete_class, rng, depth + 1)
                )
        elif field.containing_oneof is None or message.WhichOneof(field.containing_oneof.name) is None:
            setattr(message, field.name, _random_scalar(field, rng))
    return message


def _random_scalar(field: FieldDescriptor, rng: random.Random) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_UINT32:
        return rng.choice([0, 1, 127, 128, 300, 2**31 - 1, 2**32 - 1])
    if kind == FieldDescriptor.TYPE_UINT64:
        return rng.choice([0, 1, 2**32, 1_765_000_000_000, 2**53 - 1])
    if kind == FieldDescriptor.TYPE_INT64:
        return rng.choice([0, -1, -(2**40), 1_765_000_000_000, 2**53 - 1])
    if kind == FieldDescriptor.TYPE_BOOL:
        return rng.random() < 0.5
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return rng.choice([0.0, 0.5, -1.25, 0.1234567890123, 1e-300])
    if kind == FieldDescriptor.TYPE_STRING:
        return rng.choice(["", "a", "Ann Sdk", "δέλτα 日本 🎙", "x" * 300, "#content"])
    if kind == FieldDescriptor.TYPE_BYTES:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(20)))
    if kind == FieldDescriptor.TYPE_ENUM:
        return rng.choice(field.enum_type.values).number
    raise AssertionError(f"no random value for {field.full_name}")


def test_the_committed_js_schema_is_generated_from_the_proto() -> None:
    assert schema.TARGET.read_text(encoding="utf-8") == schema.render(), (
        "run `python -m parley.proto.schema` after changing chime_signaling.proto"
    )


def test_every_message_type_round_trips_between_python_and_the_page(js: Any) -> None:
    rng = random.Random(20261207)
    messages = [
        random_message(getattr(pb, name), rng)
        for name in sorted(pb.DESCRIPTOR.message_types_by_name)
        for _ in range(12)
    ]
    names = [m.DESCRIPTOR.name for m in messages]
    decoded = js(
        [
            {"op": "decode", "type": n, "b64": b64(m.SerializeToString())}
            for n, m in zip(names, messages, strict=True)
        ]
    )
    for message, answer in zip(messages, decoded, strict=True):
        assert "error" not in answer, answer
        assert without_empty_lists(answer["value"]) == plain(message)
    encoded = js(
        [{"op": "encode", "type": n, "value": plain(m)} for n, m in zip(names, messages, strict=True)]
    )
    for message, answer in zip(messages, encoded, strict=True):
        assert "error" not in answer, answer
        again = type(message)()
        again.ParseFromString(base64.b64decode(answer["b64"]))
        assert again == message


def test_the_page_reads_packed_repeated_fields_and_skips_unknown_ones(js: Any) -> None:
    # SdkIndexFrame.paused_at_source_ids (3) packed: tag 3<<3|2, length, varints 1, 300, 7; then an unknown
    # field 99 (varint) and an unknown length-delimited field 100; then num_participants (4) = 5.
    data = bytes([0x1A, 0x04, 0x01, 0xAC, 0x02, 0x07]) + bytes([0x98, 0x06, 0x2A])
    data += bytes([0xA2, 0x06, 0x03]) + b"abc" + bytes([0x20, 0x05])
    [answer] = js([{"op": "decode", "type": "SdkIndexFrame", "b64": b64(data)}])
    assert answer["value"] == {"paused_at_source_ids": [1, 300, 7], "sources": [], "num_participants": 5}


def test_damaged_frames_raise_the_codecs_error_and_nothing_else(js: Any) -> None:
    rng = random.Random(7)
    frames = [random_message(pb.SdkSignalFrame, rng).SerializeToString() for _ in range(40)]
    damaged = [f[: rng.randrange(len(f))] for f in frames if f]
    damaged += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))) for _ in range(200)]
    damaged += [bytes([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), bytes([0x80] * 12), bytes([0x0B])]
    answers = js([{"op": "decode", "type": "SdkSignalFrame", "b64": b64(d)} for d in damaged])
    errors = [a["error"] for a in answers if "error" in a]
    assert errors, "no damaged frame was refused"
    assert all(e.startswith("ProtobufError:") for e in errors), sorted(set(errors))[:5]


def test_transcription_messages_become_the_events_the_captions_render(js: Any) -> None:
    batches = [rich_events(), *(_random_events(seed=s, count=12) for s in range(5))]
    answers = js([{"op": "transcript", "b64": b64(to_sdk_transcript_frame(events))} for events in batches])
    for events, answer in zip(batches, answers, strict=True):
        assert "error" not in answer, answer
        assert answer["events"] == json.loads(to_json(events))["events"]
