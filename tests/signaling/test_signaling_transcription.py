"""Transcription over Chime SDK signaling: speech sent as Opus over WebRTC is transcribed by the bundled
model and delivered as DATA_MESSAGE frames on ``aws:chime:transcription``, as the SDK's
transcriptionController expects."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from harness.media import RATE, MediaPeer, clip_48k
from harness.server import ServerProcess
from harness.signaling import SignalingClient, signaling_url
from parley.proto import chime_signaling_pb2 as pb
from parley.transcripts.events import Transcript, TranscriptionStatus
from parley.transcripts.wire import TRANSCRIPTION_TOPIC, from_sdk_transcript_frame

pytestmark = pytest.mark.model

WAIT_S = 120.0


async def transcript_events(client: SignalingClient) -> list[Any]:
    message = await client.recv_type(pb.SdkSignalFrame.DATA_MESSAGE)
    events = []
    for payload in message.data_message.messages:
        assert payload.topic == TRANSCRIPTION_TOPIC
        assert payload.ingest_time_ns > 0
        events += from_sdk_transcript_frame(payload.data)
    return events


async def test_speech_over_webrtc_is_transcribed_to_every_attendee(model_server: ServerProcess) -> None:
    chime = model_server.client()
    meeting = chime.create_meeting(ExternalMeetingId="signal-live", MediaRegion="us-east-1")["Meeting"]
    mid = meeting["MeetingId"]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="Sam Speaker")["Attendee"]
    listener = chime.create_attendee(MeetingId=mid, ExternalUserId="Lee Listener")["Attendee"]

    hear = await SignalingClient(signaling_url(meeting), listener["JoinToken"]).connect()
    await hear.join()
    chime.start_meeting_transcription(
        MeetingId=mid, TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
    )
    async with asyncio.timeout(WAIT_S):
        [started] = await transcript_events(hear)
    assert isinstance(started, TranscriptionStatus)
    assert started.type == "started"

    talk = await SignalingClient(signaling_url(meeting), speaker["JoinToken"]).connect()
    await talk.join()
    peer = MediaPeer(clip_48k("en_us_budget"))
    await peer.subscribe(talk, speaker["AttendeeId"])

    partials: list[Any] = []
    finals: list[Any] = []
    async with asyncio.timeout(WAIT_S):
        while not any("budget" in r.alternatives[0].transcript.lower() for r in finals):
            for event in await transcript_events(hear):
                if isinstance(event, Transcript):
                    for result in event.results:
                        (partials if result.is_partial else finals).append(result)
    assert partials
    budget = next(r for r in finals if "budget" in r.alternatives[0].transcript.lower())
    words = [i for i in budget.alternatives[0].items if i.content.lower() == "budget"]
    assert words
    assert words[0].attendee_id == speaker["AttendeeId"]
    assert words[0].external_user_id == "Sam Speaker"

    await peer.close()
    await talk.close()
    await hear.close()


async def finals_until(client: SignalingClient, *words: str) -> Any:
    """Transcript results until a final containing one of ``words``; returns that final."""
    async with asyncio.timeout(WAIT_S):
        while True:
            for event in await transcript_events(client):
                if isinstance(event, Transcript):
                    for result in event.results:
                        text = result.alternatives[0].transcript.lower()
                        if not result.is_partial and any(w in text for w in words):
                            return result


async def test_transcription_goes_on_after_the_speaker_drops_and_reconnects(
    model_server: ServerProcess,
) -> None:
    chime = model_server.client()
    meeting = chime.create_meeting(ExternalMeetingId="signal-reconnect", MediaRegion="us-east-1")["Meeting"]
    mid = meeting["MeetingId"]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="Sam Speaker")["Attendee"]
    listener = chime.create_attendee(MeetingId=mid, ExternalUserId="Lee Listener")["Attendee"]
    hear = await SignalingClient(signaling_url(meeting), listener["JoinToken"]).connect()
    await hear.join()
    talk = await SignalingClient(signaling_url(meeting), speaker["JoinToken"]).connect()
    await talk.join(audio_session_id=42)
    chime.start_meeting_transcription(
        MeetingId=mid, TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
    )
    peer = MediaPeer(clip_48k("en_us_budget"))
    await peer.subscribe(talk, speaker["AttendeeId"])
    before = await finals_until(hear, "budget")
    assert before.alternatives[0].items[0].attendee_id == speaker["AttendeeId"]

    talk.drop()  # no LEAVE: the SDK reconnects with a new socket and the same audio_session_id
    await peer.close()
    again = await SignalingClient(signaling_url(meeting), speaker["JoinToken"]).connect()
    await again.join(audio_session_id=42)
    # The new socket is told transcription is on, as any joiner is.
    [status] = [e async for e in _statuses(again)]
    assert status.type == "started"
    peer = MediaPeer(clip_48k("en_gb_two"))  # other words, so the result can only come from the new uplink
    await peer.subscribe(again, speaker["AttendeeId"])
    after = await finals_until(hear, "design", "release", "platform")
    words = [i for i in after.alternatives[0].items if i.type == "pronunciation"]
    assert words
    assert {i.attendee_id for i in words} == {speaker["AttendeeId"]}
    assert {i.external_user_id for i in words} == {"Sam Speaker"}

    await peer.close()
    await again.close()
    await hear.close()


async def _statuses(client: SignalingClient) -> Any:
    """The first transcription event on ``client``, which must be a status."""
    async with asyncio.timeout(WAIT_S):
        events = await transcript_events(client)
    for event in events:
        assert isinstance(event, TranscriptionStatus)
        yield event


async def test_a_content_shares_audio_is_mixed_for_the_others_but_not_transcribed(
    model_server: ServerProcess,
) -> None:
    """D39: Ann's content share (``<token>#content``) plays the budget clip: Lee hears it in his mix, and nothing
    of it is transcribed. Then Ann says the same herself, and the first final with "budget" is hers."""
    chime = model_server.client()
    meeting = chime.create_meeting(ExternalMeetingId="signal-content", MediaRegion="us-east-1")["Meeting"]
    mid = meeting["MeetingId"]
    ann = chime.create_attendee(MeetingId=mid, ExternalUserId="Ann Presenter")["Attendee"]
    lee = chime.create_attendee(MeetingId=mid, ExternalUserId="Lee Listener")["Attendee"]

    hear = await SignalingClient(signaling_url(meeting), lee["JoinToken"]).connect()
    await hear.join()
    ear = MediaPeer(np.zeros(RATE * 60, dtype=np.int16))
    await ear.subscribe(hear, lee["AttendeeId"])
    chime.start_meeting_transcription(
        MeetingId=mid, TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
    )
    async with asyncio.timeout(WAIT_S):
        [started] = await transcript_events(hear)
    assert isinstance(started, TranscriptionStatus)

    share = await SignalingClient(signaling_url(meeting), ann["JoinToken"] + "#content").connect()
    await share.join()
    played = MediaPeer(clip_48k("en_us_budget"))
    await played.subscribe(share, ann["AttendeeId"] + "#content")
    await asyncio.wait_for(ear.heard.wait(), WAIT_S)  # the shared sound reaches Lee through the mix

    talk = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await talk.join()
    voice = MediaPeer(clip_48k("en_us_budget"))
    await voice.subscribe(talk, ann["AttendeeId"])
    final = await finals_until(hear, "budget")
    assert {i.attendee_id for i in final.alternatives[0].items} == {ann["AttendeeId"]}

    for peer in (voice, played, ear):
        await peer.close()
    for client in (talk, share, hear):
        await client.close()
