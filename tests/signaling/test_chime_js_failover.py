"""The official browser SDK across a node failure: two parley nodes behind a balancer, two SDK sessions in Chromium
in one transcribing meeting, the node hosting the meeting's room killed with kill -9. The SDK reconnects on its own
(nothing in the page or the test asks it to), the surviving node takes the meeting over (signaling/hosting.py), and
the captions go on: `interrupted`, then `resumed`, then new finals, which the surviving node stores.

Sam speaks JFK's inaugural lines (real speech; Chromium loops the file as the microphone), Lee listens.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.balancer import balancer_thread
from harness.devset import normalize_words
from harness.media import RATE, devset_48k
from harness.server import free_port
from harness.services import balanced_args, two_nodes
from harness.transcripts import exported_results
from tests.signaling.conftest import WAIT_MS, chromium

pytestmark = [pytest.mark.model, pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

EN = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
COUNTRY_FINAL = (
    "after => window.parley.events.some((e, i) => i > after && e.kind === 'transcript' && !e.isPartial"
    " && e.transcript.toLowerCase().includes('country'))"
)


@pytest.fixture(scope="module")
def jfk_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    silence = np.zeros(RATE, dtype=np.int16)
    path = tmp_path_factory.mktemp("speech") / "jfk-48k.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.concatenate([silence, devset_48k("jfk"), silence]).tobytes())
    with chromium(tmp_path_factory, [f"--use-file-for-fake-audio-capture={path}"], ["microphone"]) as context:
        yield context


def both_present(speaker: Any, listener: Any, ids: list[str]) -> None:
    for page in (speaker, listener):
        page.wait_for_function(
            "ids => ids.every(id => window.parley.presence.some(p => p.attendeeId === id && p.present))",
            arg=ids,
            timeout=WAIT_MS,
        )


def status_index(page: Any, status: str) -> int:
    events = page.evaluate("window.parley.events")
    return next(i for i, e in enumerate(events) if e["kind"] == "status" and e["type"] == status)


def test_chime_sdk_clients_follow_their_meeting_to_another_node_when_its_host_is_killed(
    tmp_path: Path, bundled_model: Path, page_url: str, jfk_browser: Any
) -> None:
    port = free_port()
    with (
        two_nodes(tmp_path, bundled_model, "parley_sdk_failover", balanced_args(port)) as (a, b),
        balancer_thread(port, [a.port, b.port]) as balancer,
    ):
        chime = a.client()
        meeting = chime.create_meeting(ExternalMeetingId="sdk-failover", MediaRegion="us-east-1")["Meeting"]
        mid = meeting["MeetingId"]
        sam = chime.create_attendee(MeetingId=mid, ExternalUserId="Sam Speaker")["Attendee"]
        lee = chime.create_attendee(MeetingId=mid, ExternalUserId="Lee Listener")["Attendee"]
        chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
        speaker, listener = jfk_browser.new_page(), jfk_browser.new_page()
        console: list[str] = []
        for name, page in (("sam", speaker), ("lee", listener)):
            page.on("console", lambda m, name=name: console.append(f"{name} {m.type}: {m.text}"))
        try:
            # Sam first: his signaling socket is the balancer's first connection, and its node hosts the room.
            for page, attendee in ((speaker, sam), (listener, lee)):
                page.goto(page_url)
                page.evaluate(
                    "([m, a]) => window.parleyJoin(m, a)", [{"Meeting": meeting}, {"Attendee": attendee}]
                )
                page.wait_for_function("window.parley.started === true", timeout=WAIT_MS)
            listener.evaluate("window.parleyMute()")
            host, other = (a, b) if balancer.routed[0] == a.port else (b, a)
            assert set(balancer.routed[:2]) == {a.port, b.port}  # Lee reached the other node: forwarded
            both_present(speaker, listener, [sam["AttendeeId"], lee["AttendeeId"]])  # one room, on the host

            host.kill9()
            killed = time.monotonic()
            for page in (speaker, listener):  # the SDK reconnects by itself
                page.wait_for_function("window.parley.starts >= 2", timeout=WAIT_MS)
            back = time.monotonic() - killed
            listener.wait_for_function(
                "window.parley.events.some(e => e.kind === 'status' && e.type === 'resumed')", timeout=WAIT_MS
            )
            assert status_index(listener, "interrupted") < status_index(listener, "resumed")
            listener.wait_for_function(COUNTRY_FINAL, arg=status_index(listener, "resumed"), timeout=WAIT_MS)
            print(f"both SDK sessions started again {back:.2f} s after kill -9 of their meeting's host")
            for page in (speaker, listener):
                assert page.evaluate("window.parley.stopped") is None
            both_present(speaker, listener, [sam["AttendeeId"], lee["AttendeeId"]])
        except Exception:
            print("\n".join(console[-80:]))
            raise
        finally:
            speaker.close()
            listener.close()
        # Playwright's sync API keeps an event loop running in this thread: fetch from another one.
        with ThreadPoolExecutor(1) as pool:
            results = pool.submit(asyncio.run, exported_results(other.endpoint, mid)).result(timeout=60)
    # The surviving node stored what it transcribed (finals from before a failure: tests/live/test_node_failover.py).
    assert any("country" in normalize_words(r["alternatives"][0]["transcript"]) for r in results)
