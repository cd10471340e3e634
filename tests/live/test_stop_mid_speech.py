"""Stop, DeleteAttendee and DeleteMeeting while an attendee is talking (issue 13, "Clean Stop").

A real server with the bundled model; real speech (JFK's 11 s inaugural sample) streamed over the attendee audio
socket in 20 ms frames at real-time pace; the API called through boto3 mid-sentence while the audio keeps coming.
What was said before the call gets its final results; the sockets close only with the documented codes
(never 1011); after Stop the socket stays open, its audio is ignored, and a new Start transcribes it again.

JFK sample, word times: "And so my fellow Americans," 0.0-2.1 s; "ask not what your country can do for you," 2.8-7.3 s;
"ask what you can do for your country." 7.8-10.4 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
import websockets
from botocore.credentials import Credentials

from harness.attendee import AttendeeClient, finals, text_of
from harness.devset import load_clip_samples, normalize_words
from harness.server import IDENTITIES, ServerProcess
from harness.transcripts import exported_results
from parley.audio.frames import SAMPLE_RATE, float32_to_pcm16
from parley.client import presign_events_url

pytestmark = pytest.mark.model

EN = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
STOP_AT_S = 6.0  # in "country" of "ask not what your country can do for you"
RESTART_AT_S = 7.6  # just before the second "ask"


def jfk_pcm() -> bytes:
    samples, _reference = load_clip_samples("jfk")
    return float32_to_pcm16(samples)


def at(seconds: float) -> int:
    """Byte offset of ``seconds`` into PCM16 16 kHz audio."""
    return int(seconds * SAMPLE_RATE) * 2


async def say(client: AttendeeClient, pcm: bytes) -> bool:
    """Stream ``pcm`` at real-time pace in 20 ms frames; False as soon as the server has closed the socket."""
    try:
        await client.stream(pcm, chunk_ms=20)
    except websockets.ConnectionClosed:
        return False
    return True


async def open_mic(client: AttendeeClient) -> None:
    """An attendee whose microphone is open in a quiet room: 20 ms frames of silence until cancelled."""
    frame = b"\x00\x00" * (SAMPLE_RATE // 50)
    while True:
        await client.ws.send(frame)
        await asyncio.sleep(0.02)


async def speaker_and_listener(
    server: ServerProcess, name: str, *, listener_mic: bool = False
) -> tuple[Any, str, str, AttendeeClient, AttendeeClient]:
    """A transcribed meeting with a talking attendee and a listening one, both connected and told `started`."""
    chime = server.client()
    mid = chime.create_meeting(ExternalMeetingId=name, MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="speaker")["Attendee"]
    listener = chime.create_attendee(MeetingId=mid, ExternalUserId="listener")["Attendee"]
    chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
    pcm16 = {"format": "pcm16", "sampleRate": SAMPLE_RATE}
    talk = await AttendeeClient(server.endpoint, mid, speaker["JoinToken"], audio=pcm16).connect()
    hear = await AttendeeClient(
        server.endpoint, mid, listener["JoinToken"], audio=pcm16 if listener_mic else None
    ).connect()
    for client in (talk, hear):
        await client.wait_for(lambda c=client: "started" in c.statuses(), 30)
    return chime, mid, speaker["AttendeeId"], talk, hear


def results_in(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for e in events if e["type"] == "transcript" for r in e["transcript"]["results"]]


def status_index(client: AttendeeClient, status: str, nth: int = 1) -> int:
    """Position in ``client.received`` of the ``nth`` ``status`` event."""
    positions = [
        i for i, e in enumerate(client.received) if e["type"] == "status" and e["status"]["type"] == status
    ]
    return positions[nth - 1]


def every_result_finalized(results: list[dict[str, Any]]) -> bool:
    """Every result shown as a partial also got its final (the utterance in flight was not dropped)."""
    final_ids = {r["resultId"] for r in results if not r["isPartial"]}
    return {r["resultId"] for r in results if r["isPartial"]} <= final_ids


async def test_stop_mid_speech_flushes_then_stops_and_the_socket_stays_open(
    model_server: ServerProcess,
) -> None:
    # The listener's microphone is open too (silence): its recognizer is closed at Stop at once, long before
    # the speaker's last final is decoded, while its frames keep coming.
    chime, mid, _speaker_id, talk, hear = await speaker_and_listener(
        model_server, "stop-mid-speech", listener_mic=True
    )
    mic = asyncio.ensure_future(open_mic(hear))
    pcm = jfk_pcm()
    assert await say(talk, pcm[: at(STOP_AT_S)])

    # Stop lands mid-sentence while the attendee goes on talking.
    speaking = asyncio.ensure_future(say(talk, pcm[at(STOP_AT_S) : at(RESTART_AT_S)]))
    await asyncio.to_thread(chime.stop_meeting_transcription, MeetingId=mid)
    for client in (talk, hear):
        await client.wait_for(lambda c=client: "stopped" in c.statuses() or c.close_code is not None, 30)
        assert client.close_code is None, f"closed with {client.close_code} {client.close_reason!r}"
    assert await speaking, "every frame sent while Stop took effect was accepted"

    # Finals of what was said before Stop, every partial shown resolved by its final, all before `stopped`.
    for client in (talk, hear):
        results = results_in(client.received[: status_index(client, "stopped")])
        said = text_of([r for r in results if not r["isPartial"]])
        assert "americans" in normalize_words(said), said
        assert every_result_finalized(results), (
            "the utterance in flight at Stop got its final before `stopped`"
        )
    before_stop = {r["resultId"] for r in results_in(hear.received[: status_index(hear, "stopped")])}

    # Stopped: the socket stays open and takes audio, real speech included, and nothing is transcribed.
    seen = [len(client.received) for client in (talk, hear)]
    assert await say(talk, pcm[: at(2.2)])  # "And so my fellow Americans," again
    await talk.silence(1.0)
    await asyncio.sleep(1.0)
    for client, count in zip((talk, hear), seen, strict=True):
        assert client.received[count:] == [], "no events after `stopped`"
    assert talk.close_code is None
    assert hear.close_code is None

    # A new Start transcribes the same open socket again.
    await asyncio.to_thread(chime.start_meeting_transcription, MeetingId=mid, TranscriptionConfiguration=EN)
    for client in (talk, hear):
        await client.wait_for(lambda c=client: c.statuses().count("started") == 2, 30)
    assert await say(talk, pcm[at(RESTART_AT_S) :])  # "ask what you can do for your country."
    await talk.silence(1.5)
    await asyncio.to_thread(chime.stop_meeting_transcription, MeetingId=mid)
    await hear.wait_for(lambda: hear.statuses().count("stopped") == 2, 30)
    again = results_in(hear.received[status_index(hear, "started", 2) : status_index(hear, "stopped", 2)])
    said_again = text_of([r for r in again if not r["isPartial"]])
    assert "country" in normalize_words(said_again), said_again
    assert every_result_finalized(again)
    assert not {r["resultId"] for r in again} & before_stop
    assert hear.statuses() == ["started", "stopped", "started", "stopped"]
    assert not mic.done(), "the listener's open microphone was never cut off"
    mic.cancel()
    assert talk.close_code is None
    assert hear.close_code is None
    await asyncio.gather(talk.close(), hear.close())
    assert talk.close_code == 1000
    chime.delete_meeting(MeetingId=mid)


async def test_delete_attendee_mid_speech_closes_4411_and_keeps_what_was_said(
    model_server: ServerProcess,
) -> None:
    chime, mid, speaker_id, talk, hear = await speaker_and_listener(model_server, "delete-attendee")
    pcm = jfk_pcm()
    assert await say(talk, pcm[: at(STOP_AT_S)])

    speaking = asyncio.ensure_future(say(talk, pcm[at(STOP_AT_S) :]))
    await asyncio.to_thread(chime.delete_attendee, MeetingId=mid, AttendeeId=speaker_id)
    assert await talk.wait_closed(30) == 4411
    assert talk.close_reason
    assert await speaking is False, "the socket was closed under the talking attendee"

    # The others keep the meeting and get the final of everything the deleted attendee said ...
    await hear.wait_for(lambda: every_result_finalized(hear.transcripts()), 30)
    delivered = {r["resultId"] for r in finals(hear)}
    assert "americans" in normalize_words(text_of(finals(hear))), text_of(finals(hear))
    assert hear.close_code is None
    # ... and the same finals are stored (a final is stored before it is published).
    stored = {r["resultId"] for r in await exported_results(model_server.endpoint, mid)}
    assert delivered <= stored
    await hear.wait_for(lambda: stored <= {r["resultId"] for r in finals(hear)}, 30)

    await hear.close()
    chime.delete_meeting(MeetingId=mid)


async def test_delete_meeting_mid_speech_finishes_what_was_said_closes_4410_and_keeps_the_transcript(
    model_server: ServerProcess,
) -> None:
    chime, mid, _speaker_id, talk, hear = await speaker_and_listener(model_server, "delete-meeting")
    alice = Credentials(*IDENTITIES["alice"][:2])
    backend = await websockets.connect(presign_events_url(model_server.endpoint, mid, alice))
    pcm = jfk_pcm()
    assert await say(talk, pcm[: at(STOP_AT_S)])

    speaking = asyncio.ensure_future(say(talk, pcm[at(STOP_AT_S) :]))
    await asyncio.to_thread(chime.delete_meeting, MeetingId=mid)
    for client in (talk, hear):
        assert await client.wait_closed(30) == 4410
        assert client.close_reason
    assert await speaking is False, "the socket was closed under the talking attendee"
    for client in (talk, hear):
        # Everything said before the meeting ended got its final (the utterance in flight too), then
        # `stopped` came last.
        assert "americans" in normalize_words(text_of(finals(client))), text_of(finals(client))
        assert every_result_finalized(client.transcripts())
        assert client.statuses() == ["started", "stopped"]
        assert client.received[-1]["type"] == "status"
    delivered = {r["resultId"] for r in finals(hear)}

    # The backend subscription saw the same finals, then `stopped`, then 4410.
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(30):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                seen.extend(json.loads(await backend.recv())["events"])
    assert backend.close_code == 4410
    backend_finals = {r["resultId"] for r in results_in(seen) if not r["isPartial"]}
    assert backend_finals == delivered
    assert seen[-1]["type"] == "status"
    assert seen[-1]["status"]["type"] == "stopped"

    # The meeting is gone; its transcript is not (the default keeps it until its owner deletes it).
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.get_meeting(MeetingId=mid)
    stored = {r["resultId"] for r in await exported_results(model_server.endpoint, mid)}
    assert stored == delivered
