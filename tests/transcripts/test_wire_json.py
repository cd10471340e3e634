"""JSON text frames: the JS SDK model's names, shapes and converter quirks."""

from __future__ import annotations

import json

import pytest

from parley.transcripts.events import Transcript, TranscriptAlternative, TranscriptionStatus, TranscriptResult
from parley.transcripts.wire import event_to_sdk_dict, to_json

from .samples import CONFIG, T0, entity_result, final_result, language_id_result, rich_events, word


def _items(result_dict: dict) -> list[dict]:
    return result_dict["alternatives"][0]["items"]


def test_envelope_is_one_object_with_tagged_events() -> None:
    frame = json.loads(to_json(rich_events()))
    assert list(frame) == ["events"]
    kinds = [e["type"] for e in frame["events"]]
    assert kinds == ["status"] * 7 + ["transcript"] * 4
    for event in frame["events"]:
        assert set(event) == {"type", event["type"]}


def test_empty_frame() -> None:
    assert to_json([]) == '{"events":[]}'


def test_status_shape() -> None:
    ev = event_to_sdk_dict(TranscriptionStatus("failed", T0, "us-east-1", CONFIG, "Internal server error"))
    assert ev == {
        "type": "status",
        "status": {
            "type": "failed",
            "eventTimeMs": T0,
            "transcriptionRegion": "us-east-1",
            "transcriptionConfiguration": CONFIG,
            "message": "Internal server error",
        },
    }
    # The converter copies message only when truthy.
    for message in (None, ""):
        st = event_to_sdk_dict(TranscriptionStatus("started", T0, "r", "{}", message))["status"]
        assert "message" not in st


def test_result_shape_and_quirks() -> None:
    result = event_to_sdk_dict(Transcript((final_result(),)))["transcript"]["results"][0]
    assert set(result) == {
        "resultId",
        "channelId",
        "isPartial",
        "startTimeMs",
        "endTimeMs",
        "alternatives",
        "languageCode",
    }
    assert result["languageCode"] == "en-US"
    assert result["isPartial"] is False
    items = _items(result)
    assert items[0] == {
        "type": "pronunciation",
        "startTimeMs": T0 + 1000,
        "endTimeMs": T0 + 1200,
        "attendee": {"attendeeId": "att-1", "externalUserId": "alice"},
        "content": "The",
        "confidence": 0.99,
        "stable": True,
    }
    assert items[2]["vocabularyFilterMatch"] is True  # true is kept
    assert "vocabularyFilterMatch" not in items[3]  # false disappears
    assert items[2]["confidence"] == 0.0  # present-but-zero is kept
    assert items[4]["type"] == "punctuation"
    assert "stable" not in items[4]
    assert "confidence" not in items[6]
    assert "entities" not in result["alternatives"][0]  # only when non-empty
    assert result["alternatives"][1] == {"items": [], "transcript": "the quick facts"}


def test_entities_and_empty_language_code() -> None:
    result = event_to_sdk_dict(Transcript((entity_result(),)))["transcript"]["results"][0]
    assert "languageCode" not in result  # "" is dropped
    assert "languageIdentification" not in result
    entities = result["alternatives"][0]["entities"]
    assert entities[0] == {
        "category": "PII",
        "confidence": 0.98,
        "content": "[NAME]",
        "startTimeMs": T0 + 3500,
        "endTimeMs": T0 + 4000,
        "type": "NAME",
    }
    assert "type" not in entities[1]  # None
    assert "type" not in entities[2]  # ""


def test_language_identification() -> None:
    result = event_to_sdk_dict(Transcript((language_id_result(),)))["transcript"]["results"][0]
    assert result["languageCode"] == "fr-CA"
    assert result["languageIdentification"] == [
        {"languageCode": "fr-CA", "score": 0.895},
        {"languageCode": "en-US", "score": 0.102},
        {"languageCode": "ja-JP", "score": 0.003},
    ]


def test_unicode_is_not_escaped_and_json_is_compact() -> None:
    text = to_json([Transcript((final_result(),))])
    assert "Zoë" in text
    assert ": " not in text
    assert ", " not in text.replace("***, Zoë", "")


def test_nan_confidence_is_refused() -> None:
    nan_item = word("x", 0, 1, confidence=float("nan"))
    result = TranscriptResult("r", "ch_0", False, T0, T0 + 1, (TranscriptAlternative((nan_item,), "x"),))
    with pytest.raises(ValueError, match="JSON"):
        to_json([Transcript((result,))])
