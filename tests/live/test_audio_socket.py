"""The attendee audio socket's contract: who may connect, what closes it, and bad input never hurts the server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from harness.attendee import AttendeeClient, ws_url
from harness.server import ServerProcess

PCM = {"format": "pcm16", "sampleRate": 16000}


@pytest.fixture
def meeting_with(chime: Any) -> Any:
    def make(*names: str, **caps: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
        mid = chime.create_meeting(ExternalMeetingId="socket", MediaRegion="us-east-1")["Meeting"][
            "MeetingId"
        ]
        attendees = []
        for name in names:
            kwargs: dict[str, Any] = {"MeetingId": mid, "ExternalUserId": name}
            if name in caps:
                kwargs["Capabilities"] = caps[name]
            attendees.append(chime.create_attendee(**kwargs)["Attendee"])
        return mid, attendees

    return make


async def expect_rejected(url: str, subprotocols: list[str]) -> None:
    with pytest.raises(websockets.InvalidStatus) as info:
        await websockets.connect(url, subprotocols=subprotocols)  # type: ignore[arg-type]
    assert info.value.response.status_code == 403


async def test_only_a_valid_token_for_that_meeting_connects(server: ServerProcess, meeting_with: Any) -> None:
    mid, (ann,) = meeting_with("ann")
    other_mid, _ = meeting_with()
    url = ws_url(server.endpoint, mid)
    await expect_rejected(url, ["parley-audio-v1", "not-a-token"])
    await expect_rejected(url, ["parley-audio-v1"])
    await expect_rejected(url, ["something-else", ann["JoinToken"]])
    await expect_rejected(ws_url(server.endpoint, other_mid), ["parley-audio-v1", ann["JoinToken"]])
    client = await AttendeeClient(server.endpoint, mid, ann["JoinToken"]).connect()
    assert client.ready == {
        "type": "ready",
        "meetingId": mid,
        "attendeeId": ann["AttendeeId"],
        "externalUserId": "ann",
        "events": "json",
        "audio": False,
    }
    assert client.ws.subprotocol == "parley-audio-v1"
    await client.close()


async def test_delete_attendee_and_meeting_close_sockets(
    server: ServerProcess, chime: Any, meeting_with: Any
) -> None:
    mid, (ann, bob) = meeting_with("ann", "bob")
    a = await AttendeeClient(server.endpoint, mid, ann["JoinToken"], audio=PCM).connect()
    b = await AttendeeClient(server.endpoint, mid, bob["JoinToken"]).connect()
    chime.delete_attendee(MeetingId=mid, AttendeeId=ann["AttendeeId"])
    assert await a.wait_closed() == 4411
    assert b.close_code is None
    # The deleted attendee's token no longer opens the socket.
    await expect_rejected(ws_url(server.endpoint, mid), ["parley-audio-v1", ann["JoinToken"]])
    chime.delete_meeting(MeetingId=mid)
    assert await b.wait_closed() == 4410
    await expect_rejected(ws_url(server.endpoint, mid), ["parley-audio-v1", bob["JoinToken"]])


async def test_second_connection_replaces_the_first(server: ServerProcess, meeting_with: Any) -> None:
    mid, (ann,) = meeting_with("ann")
    first = await AttendeeClient(server.endpoint, mid, ann["JoinToken"], audio=PCM).connect()
    second = await AttendeeClient(server.endpoint, mid, ann["JoinToken"], audio=PCM).connect()
    assert await first.wait_closed() == 4301
    assert second.close_code is None
    await second.stream(b"\x00\x00" * 1600, realtime=False)
    await second.close()


async def test_capabilities_are_honoured(server: ServerProcess, meeting_with: Any) -> None:
    receive_only = {"Audio": "Receive", "Video": "None", "Content": "None"}
    mid, (ann,) = meeting_with("ann", ann=receive_only)
    # Receiving captions is fine; declaring audio is refused.
    listener = await AttendeeClient(server.endpoint, mid, ann["JoinToken"]).connect()
    await listener.close()
    sender = AttendeeClient(server.endpoint, mid, ann["JoinToken"], audio=PCM)
    with pytest.raises(TimeoutError):
        await sender.connect()
    assert await sender.wait_closed() == 4403
    assert "cannot send audio" in (sender.close_reason or "")
    # Audio frames without an audio format are refused too.
    quiet = await AttendeeClient(server.endpoint, mid, ann["JoinToken"]).connect()
    await quiet.ws.send(b"\x00" * 320)
    assert await quiet.wait_closed() == 4403


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("not json", 4400),
        (json.dumps({"type": "hello"}), 4400),
        (json.dumps({"type": "start", "events": "xml"}), 4400),
        (json.dumps({"type": "start", "audio": {"format": "mp3"}}), 4400),
        (json.dumps({"type": "start", "audio": {"format": "pcm16", "sampleRate": 4000}}), 4400),
        (json.dumps({"type": "start", "audio": {"format": "pcm16", "sampleRate": 96000}}), 4400),
        (json.dumps({"type": "start", "audio": {"format": "pcm16", "sampleRate": "fast"}}), 4400),
    ],
)
async def test_bad_start_messages(server: ServerProcess, meeting_with: Any, start: str, code: int) -> None:
    mid, (ann,) = meeting_with("ann")
    async with websockets.connect(
        ws_url(server.endpoint, mid), subprotocols=["parley-audio-v1", ann["JoinToken"]]
    ) as ws:  # type: ignore[list-item]
        await ws.send(start)
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert ws.close_code == code
        assert ws.close_reason


async def test_oversized_frames_and_bad_audio(server: ServerProcess, meeting_with: Any) -> None:
    mid, (ann, bob) = meeting_with("ann", "bob")
    big = await AttendeeClient(server.endpoint, mid, ann["JoinToken"], audio=PCM).connect()
    await big.ws.send(b"\x00" * (256 * 1024 + 2))
    assert await big.wait_closed() == 4413
    webm = await AttendeeClient(
        server.endpoint, mid, bob["JoinToken"], audio={"format": "webm-opus"}
    ).connect()
    # FFmpeg keeps looking for a WebM header in junk; past 1 MiB of input without audio the decoder gives up.
    await webm.ws.send(b"this is not a webm stream at all" * 100)
    for _ in range(5):
        await webm.ws.send(b"\x1a\x45\xdf\xa3" + b"\xff" * (250 * 1024))
    code = await webm.wait_closed()
    assert code == 4400
    assert "bad audio" in (webm.close_reason or "")
    # The server is unharmed.
    again = await AttendeeClient(server.endpoint, mid, ann["JoinToken"], audio=PCM).connect()
    await again.stream(b"\x00\x01" * 8000, realtime=False)
    await again.ws.send(json.dumps({"type": "ping", "id": 7}))
    await again.close()


async def test_stop_message_closes_normally(server: ServerProcess, meeting_with: Any) -> None:
    mid, (ann,) = meeting_with("ann")
    client = await AttendeeClient(server.endpoint, mid, ann["JoinToken"], audio=PCM).connect()
    await client.stream(b"\x00\x00" * 16000, realtime=False)
    await client.ws.send(json.dumps({"type": "stop"}))
    assert await client.wait_closed() == 1000


@pytest.mark.model
async def test_ready_comes_once_the_speech_model_is_loaded(tmp_path: Any, bundled_model: Any) -> None:
    """`ready` tells a client to send audio, and a recognizer's time origin is when it starts. It used to come
    before a still-loading model was ready (the first attendee after start-up): the audio waited in the socket and
    every word was stamped late by the wait. Here the model loads on first use, so the first join waits for it."""
    from harness.server import write_credentials

    proc = ServerProcess(
        data_dir=tmp_path / "data",
        credentials=write_credentials(tmp_path / "credentials"),
        extra_args=["--model", str(bundled_model)],
    ).start()  # lazy: nothing loads until a transcribing meeting has an attendee
    try:
        chime = proc.client()
        meeting = chime.create_meeting(MediaRegion="us-east-1", ExternalMeetingId="lazy")["Meeting"][
            "MeetingId"
        ]
        token = chime.create_attendee(MeetingId=meeting, ExternalUserId="first-speaker")["Attendee"][
            "JoinToken"
        ]
        chime.start_meeting_transcription(
            MeetingId=meeting,
            TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
        )
        assert readiness(proc)["speech_model"].get("detail"), "the model must not be loaded before the join"
        client = await AttendeeClient(
            proc.endpoint, meeting, token, audio={"format": "pcm16", "sampleRate": 16000}
        ).connect()
        assert readiness(proc)["speech_model"] == {"ready": True}  # loaded, not "loads on first use"
        await client.close()
    finally:
        proc.stop()


def readiness(proc: ServerProcess) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"{proc.endpoint}/readyz", timeout=5) as r:
        return json.loads(r.read())["checks"]
