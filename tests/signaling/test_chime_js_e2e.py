"""The official browser SDK (amazon-chime-sdk-js 3.32.0), two sessions in one parley meeting in headless
Chromium, with one camera forwarded throughout: presence, mute, volume indicators, the server's audio mix in the
listener's WebRTC stats, data messages, live transcription through ``transcriptionController``, a reconnect after
the signaling connection is cut, and the end of the meeting.

The SDK is bundled with esbuild at test time from tests/chime_js (``npm ci`` only when node_modules is
absent); the page is served by a static HTTP server on 127.0.0.1 (a secure context, and a loopback origin,
which Chromium's local-network-access checks require before a page may open a socket to loopback; a
Playwright-fulfilled page counts as public and is blocked). Needs Debian's Chromium and Node.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.console import signed_in
from harness.media import RATE, clip_48k
from harness.server import ServerProcess
from tests.signaling.conftest import WAIT_MS, chromium

pytestmark = [pytest.mark.model, pytest.mark.browser]


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The budget clip as 48 kHz mono WAV with silence around it; Chromium loops it as the microphone."""
    silence = np.zeros(RATE * 2, dtype=np.int16)
    samples = np.concatenate([silence[: RATE // 2], clip_48k("en_us_budget"), silence])
    path = tmp_path_factory.mktemp("speech") / "speech-48k.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return path


@pytest.fixture(scope="module")
def browser(speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(
        tmp_path_factory, [f"--use-file-for-fake-audio-capture={speech_wav}"], ["microphone", "camera"]
    ) as context:
        yield context


class SignalingProxy:
    """A TCP relay in front of parley for one client's signaling socket, reached through the SDK's own
    ``urlRewriter``. ``drop()`` resets every relayed connection at once (RST, no WebSocket close frame),
    which is what a lost network looks like to both ends: the browser sees close code 1006."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0
        self.server = self._run(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port: int = self.server.sockets[0].getsockname()[1]

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self.writers.discard(writer)

    async def _abort_all(self) -> int:
        dropped = len(self.writers)
        for writer in list(self.writers):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
            writer.transport.abort()
        self.writers.clear()
        return dropped

    def drop(self) -> int:
        """Reset every relayed connection; the number of sockets reset."""
        return int(self._run(self._abort_all()))

    def close(self) -> None:
        self.server.close()
        self._run(self._abort_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def assert_reconnected(page: Any) -> None:
    """``audioVideoDidStartConnecting`` said "not reconnecting" once, at the start, and "reconnecting" since."""
    first, *later = page.evaluate("window.parley.connecting")
    assert first is False
    assert later
    assert all(later)


def test_two_chime_sdk_clients_meet_in_chromium(
    model_server: ServerProcess, page_url: str, browser: Any
) -> None:
    """Two SDK sessions in one meeting: Sam speaks (the fake microphone plays the budget clip) with his camera on
    (Chromium's fake camera), Lee listens muted and watches. Sam's signaling goes through a relay that the test
    cuts abruptly mid-meeting."""
    chime = model_server.client()
    meeting = chime.create_meeting(ExternalMeetingId="chime-js", MediaRegion="us-east-1")["Meeting"]
    mid = meeting["MeetingId"]
    sam = chime.create_attendee(MeetingId=mid, ExternalUserId="Sam Speaker")["Attendee"]
    lee = chime.create_attendee(MeetingId=mid, ExternalUserId="Lee Listener")["Attendee"]
    proxy = SignalingProxy(model_server.port)
    speaker = browser.new_page()
    listener = browser.new_page()
    console: list[str] = []
    for name, page in (("sam", speaker), ("lee", listener)):
        page.on("console", lambda m, name=name: console.append(f"{name} {m.type}: {m.text}"))
    try:
        speaker.goto(page_url)
        listener.goto(page_url)
        relay = {
            "signalingFrom": f"ws://127.0.0.1:{model_server.port}/",
            "signalingTo": f"ws://127.0.0.1:{proxy.port}/",
        }
        speaker.evaluate(
            "([m, a, o]) => window.parleyJoin(m, a, o)", [{"Meeting": meeting}, {"Attendee": sam}, relay]
        )
        listener.evaluate("([m, a]) => window.parleyJoin(m, a)", [{"Meeting": meeting}, {"Attendee": lee}])
        for page in (speaker, listener):
            page.wait_for_function("window.parley.started === true", timeout=WAIT_MS)
        assert proxy.accepted == 1  # Sam's signaling really goes through the relay
        listener.evaluate("window.parleyMute()")
        # Everything below runs with video flowing: Sam's camera is forwarded to Lee.
        speaker.evaluate("window.parleyStartVideo()")
        listener.wait_for_function(
            "id => Object.values(window.parley.tiles).some(t => t.attendeeId === id && !t.removed)",
            arg=sam["AttendeeId"],
            timeout=WAIT_MS,
        )
        listener.wait_for_function("window.parley.videoFramesReceived > 0", timeout=WAIT_MS)

        # Presence: each client sees the other attendee (and itself) arrive, with the external user id.
        for page in (speaker, listener):
            for attendee in (sam, lee):
                page.wait_for_function(
                    "([id, ext]) => window.parley.presence.some("
                    "p => p.attendeeId === id && p.present && p.externalUserId === ext)",
                    arg=[attendee["AttendeeId"], attendee["ExternalUserId"]],
                    timeout=WAIT_MS,
                )
        # Mute reaches the other client through the volume indicator callback.
        speaker.wait_for_function(
            "id => window.parley.volumes[id]?.muted === true", arg=lee["AttendeeId"], timeout=WAIT_MS
        )
        # ... and the console's roster, which shows both connected and Lee muted.
        web = signed_in(model_server)  # the console's API, as its page calls it
        try:
            attendees = web.get(f"/console/api/meetings/{mid}/attendees").json()["Attendees"]
        finally:
            web.close()
        roster = {a["ExternalUserId"]: a for a in attendees}
        assert (roster["Lee Listener"]["Connected"], roster["Lee Listener"]["Muted"]) == (True, True)
        assert (roster["Sam Speaker"]["Connected"], roster["Sam Speaker"]["Muted"]) == (True, False)

        chime.start_meeting_transcription(
            MeetingId=mid, TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
        )
        for page in (speaker, listener):
            page.wait_for_function(
                "window.parley.events.some(e => e.kind === 'status' && e.type === 'started')", timeout=WAIT_MS
            )
        budget_final = (
            "([id, after]) => window.parley.events.some(e => e.kind === 'transcript' && !e.isPartial"
            " && e.startTimeMs > after && e.transcript.toLowerCase().includes('budget')"
            " && e.items.some(i => i.content.toLowerCase() === 'budget' && i.attendeeId === id))"
        )
        frames_before = listener.evaluate("window.parley.videoFramesReceived")
        for page in (speaker, listener):
            page.wait_for_function(budget_final, arg=[sam["AttendeeId"], 0], timeout=WAIT_MS)
        # ... while the camera kept playing at Lee's.
        listener.wait_for_function(
            "n => window.parley.videoFramesReceived > n + 15", arg=frames_before, timeout=WAIT_MS
        )
        transcripts = [e for e in listener.evaluate("window.parley.events") if e["kind"] == "transcript"]
        assert any(e["isPartial"] for e in transcripts)
        final = next(e for e in transcripts if not e["isPartial"] and "budget" in e["transcript"].lower())
        [budget] = [i for i in final["items"] if i["content"].lower() == "budget"]
        assert (budget["attendeeId"], budget["externalUserId"]) == (sam["AttendeeId"], "Sam Speaker")

        # Volume indicators: Lee's client shows Sam speaking.
        listener.wait_for_function(
            "id => (window.parley.volumes[id]?.max ?? 0) > 0", arg=sam["AttendeeId"], timeout=WAIT_MS
        )
        # The server's mix reaches Lee's WebRTC stack: packets, bytes and audio energy from Sam's speech.
        listener.wait_for_function("(window.parley.inbound?.totalAudioEnergy ?? 0) > 0", timeout=WAIT_MS)
        inbound = listener.evaluate("window.parley.inbound")
        assert inbound["packetsReceived"] > 0
        assert inbound["bytesReceived"] > 0

        # Data messages both ways, stamped with the sender; Lee's note is kept for 60 s.
        speaker.evaluate("window.parleySend('chat', 'hello from Sam', 0)")
        listener.wait_for_function(
            "window.parley.messages.some(m => m.text === 'hello from Sam')", timeout=WAIT_MS
        )
        [hello] = listener.evaluate("window.parley.messages.filter(m => m.text === 'hello from Sam')")
        assert hello["topic"] == "chat"
        assert (hello["senderAttendeeId"], hello["senderExternalUserId"]) == (
            sam["AttendeeId"],
            "Sam Speaker",
        )
        assert hello["throttled"] is False
        assert hello["timestampMs"] > 0
        listener.evaluate("window.parleySend('chat', 'note from Lee', 60000)")
        speaker.wait_for_function(
            "window.parley.messages.some(m => m.text === 'note from Lee')", timeout=WAIT_MS
        )
        assert speaker.evaluate("window.parley.messages.filter(m => m.text === 'note from Lee').length") == 1

        # The network drops under Sam's signaling socket. The SDK reconnects on its own: a new socket (the
        # relay's second connection), JOIN with the same audio_session_id, a new peer connection.
        dropped_at_ms = time.time() * 1000
        assert proxy.drop() == 2
        speaker.wait_for_function("window.parley.starts >= 2", timeout=WAIT_MS)
        assert_reconnected(speaker)
        assert proxy.accepted >= 2
        assert speaker.evaluate("window.parley.stopped") is None
        # The kept message is replayed to the reconnected client, with its original sender.
        speaker.wait_for_function(
            "window.parley.messages.filter(m => m.text === 'note from Lee').length === 2", timeout=WAIT_MS
        )
        replayed = speaker.evaluate("window.parley.messages.filter(m => m.text === 'note from Lee')")
        assert replayed[1]["senderAttendeeId"] == lee["AttendeeId"]
        assert replayed[1]["timestampMs"] == replayed[0]["timestampMs"]
        # Lee sees Sam re-announced (a new stream), and never absent (D29).
        listener.wait_for_function(
            "id => window.parley.presence.filter(p => p.attendeeId === id && p.present).length >= 2",
            arg=sam["AttendeeId"],
            timeout=WAIT_MS,
        )
        sam_presence = [
            p for p in listener.evaluate("window.parley.presence") if p["attendeeId"] == sam["AttendeeId"]
        ]
        assert all(p["present"] for p in sam_presence)
        # Transcription goes on: a final from the new uplink (spoken after the drop) reaches Lee.
        listener.wait_for_function(budget_final, arg=[sam["AttendeeId"], dropped_at_ms], timeout=WAIT_MS)

        # A runaway sender: over the soft limit its messages come back throttled, and past the per-attendee
        # hard limit the server hangs up (4529, D28). The SDK reconnects, and Sam still sees Lee present.
        listener.evaluate("window.parleyFlood('chat', 6000)")
        listener.wait_for_function("window.parley.starts >= 2", timeout=WAIT_MS)
        assert_reconnected(listener)
        throttled = listener.evaluate("window.parley.messages.filter(m => m.throttled).length")
        assert throttled > 0
        speaker.wait_for_function(
            "id => window.parley.presence.filter(p => p.attendeeId === id && p.present).length >= 2",
            arg=lee["AttendeeId"],
            timeout=WAIT_MS,
        )
        lee_presence = [
            p for p in speaker.evaluate("window.parley.presence") if p["attendeeId"] == lee["AttendeeId"]
        ]
        assert all(p["present"] for p in lee_presence)

        # Stop while Sam is talking (the fake microphone loops the clip): through the SDK each client gets the
        # finals of what was said, then `stopped`, and stays connected; a second Start transcribes again.
        chime.stop_meeting_transcription(MeetingId=mid)
        stopped_status = "window.parley.events.some(e => e.kind === 'status' && e.type === 'stopped')"
        for page in (speaker, listener):
            page.wait_for_function(stopped_status, timeout=WAIT_MS)
        events = listener.evaluate("window.parley.events")
        at = max(i for i, e in enumerate(events) if e["kind"] == "status" and e["type"] == "stopped")
        shown = {e["resultId"] for e in events[:at] if e["kind"] == "transcript"}
        settled = {e["resultId"] for e in events[:at] if e["kind"] == "transcript" and not e["isPartial"]}
        assert shown == settled, "a result shown before `stopped` never got its final"
        listener.wait_for_timeout(1500)  # Sam keeps talking: after `stopped` nothing more is transcribed
        assert not [
            e for e in listener.evaluate("window.parley.events")[at + 1 :] if e["kind"] == "transcript"
        ]
        restarted_ms = time.time() * 1000
        chime.start_meeting_transcription(
            MeetingId=mid, TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
        )
        for page in (speaker, listener):
            page.wait_for_function(budget_final, arg=[sam["AttendeeId"], restarted_ms], timeout=WAIT_MS)
            assert page.evaluate("window.parley.stopped") is None  # the socket stayed up throughout
        assert speaker.evaluate("window.parley.starts") == 2  # no reconnect was needed

        chime.delete_meeting(MeetingId=mid)
        for page in (speaker, listener):
            page.wait_for_function("window.parley.stopped !== null", timeout=WAIT_MS)
            assert page.evaluate("window.parley.stopped") == 5  # MeetingSessionStatusCode.MeetingEnded
        for page in (speaker, listener):
            assert page.evaluate("window.parley.starts") == 2  # the end is final: no reconnect after it
    except Exception:
        print("\n".join(console[-60:]))
        raise
    finally:
        speaker.close()
        listener.close()
        proxy.close()
