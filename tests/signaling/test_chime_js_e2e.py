"""The official browser SDK (amazon-chime-sdk-js 3.32.0) joins a parley meeting in headless Chromium and
receives live transcription of its own (fake) microphone through ``transcriptionController``.

The SDK is bundled with esbuild at test time from tests/chime_js (``npm ci`` only when node_modules is
absent); the page is served by a static HTTP server on 127.0.0.1 (a secure context, and a loopback origin,
which Chromium's local-network-access checks require before a page may open a socket to loopback; a
Playwright-fulfilled page counts as public and is blocked). Needs Debian's Chromium and Node.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.signaling.media_client import RATE, clip_48k
from tests.support.server import ServerProcess

pytestmark = pytest.mark.model

CHIMEJS = Path(__file__).resolve().parents[1] / "chime_js"
CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 120_000
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>parley chime-js</title></head>
<body><audio id="audio"></audio><script src="/page.js"></script></body></html>"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH; Node 20 is required for the amazon-chime-sdk-js test")
    return path


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled test page, served from a loopback origin; yields its URL."""
    if not (CHIMEJS / "node_modules" / "amazon-chime-sdk-js").is_dir():
        subprocess.run([_tool("npm"), "ci", "--no-audit", "--no-fund"], cwd=CHIMEJS, check=True, timeout=300)
    site = tmp_path_factory.mktemp("chime-js")
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    out = site / "page.js"
    subprocess.run(
        [
            str(CHIMEJS / "node_modules" / ".bin" / "esbuild"), "page.js", "--bundle",
            "--platform=browser", "--main-fields=browser,module,main", "--define:global=globalThis",
            f"--outfile={out}", "--log-level=warning",
        ],
        cwd=CHIMEJS, check=True, timeout=120,
    )  # fmt: skip
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()
    thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


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
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's Chromium (apt-get install -y chromium)", pytrace=False
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={speech_wav}",
                "--allow-loopback-in-peer-connection",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
                "--autoplay-policy=no-user-gesture-required",
            ],
            permissions=["microphone"],
        )  # fmt: skip
        yield context
        context.close()


def test_chime_sdk_joins_and_receives_live_transcription(
    model_server: ServerProcess, page_url: str, browser: Any
) -> None:
    chime = model_server.client()
    meeting = chime.create_meeting(ExternalMeetingId="chime-js", MediaRegion="us-east-1")["Meeting"]
    attendee = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="Sam Speaker")["Attendee"]

    page = browser.new_page()
    try:
        page.goto(page_url)
        page.evaluate("([m, a]) => window.parleyJoin(m, a)", [{"Meeting": meeting}, {"Attendee": attendee}])
        page.wait_for_function("window.parley.started === true", timeout=WAIT_MS)
        page.wait_for_function(
            "id => window.parley.presence.some(p => p.attendeeId === id && p.present)",
            arg=attendee["AttendeeId"],
            timeout=WAIT_MS,
        )

        chime.start_meeting_transcription(
            MeetingId=meeting["MeetingId"],
            TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
        )
        page.wait_for_function(
            "window.parley.events.some(e => e.kind === 'status' && e.type === 'started')", timeout=WAIT_MS
        )
        page.wait_for_function(
            "window.parley.events.some(e => e.kind === 'transcript' && !e.isPartial"
            " && e.transcript.toLowerCase().includes('budget'))",
            timeout=WAIT_MS,
        )
        events = page.evaluate("window.parley.events")
        transcripts = [e for e in events if e["kind"] == "transcript"]
        assert any(e["isPartial"] for e in transcripts)
        final = next(e for e in transcripts if not e["isPartial"] and "budget" in e["transcript"].lower())
        budget = [i for i in final["items"] if i["content"].lower() == "budget"]
        assert budget
        assert budget[0]["attendeeId"] == attendee["AttendeeId"]
        assert budget[0]["externalUserId"] == "Sam Speaker"

        chime.delete_meeting(MeetingId=meeting["MeetingId"])
        page.wait_for_function("window.parley.stopped !== null", timeout=WAIT_MS)
        assert page.evaluate("window.parley.stopped") == 5  # MeetingSessionStatusCode.MeetingEnded
    finally:
        page.close()
