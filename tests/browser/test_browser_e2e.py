"""The browser pages end to end, in real headless Chromium against the real server and speech model.

A person signs in to the console, creates a meeting and an attendee, opens the attendee's join link in a
second page whose fake microphone plays recorded speech, starts transcription from the console, and both
pages show the live captions; Stop shows the stopped banner; the transcript downloads. The error states a
person can meet are covered too: bad credentials, an invalid join link, a meeting that ends under you.

Needs Debian's Chromium (``apt-get install -y chromium``) and Playwright for Python; Playwright drives the
system browser, it never downloads one.
"""

from __future__ import annotations

import contextlib
import os
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from harness.server import IDENTITIES, ServerProcess

pytestmark = [pytest.mark.model, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
SPEECH = Path(__file__).parents[1] / "data" / "speech" / "en_us_budget.flac"
# Screenshots go to an ignored artifacts folder; PARLEY_UPDATE_SCREENSHOTS=1 refreshes the README's images.
DOCS_IMG = (
    Path(__file__).parents[2] / "docs" / "img"
    if os.environ.get("PARLEY_UPDATE_SCREENSHOTS") == "1"
    else Path(__file__).parents[2] / "tests" / "artifacts" / "screenshots"
)
CAPTION_WAIT_MS = 90_000
UI_WAIT_MS = 20_000


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium. Install it with "
            "`apt-get update && apt-get install -y chromium` (never `playwright install`).",
            pytrace=False,
        )
    return CHROMIUM


def fake_mic_wav(source: Path, target: Path) -> Path:
    """``source`` as 48 kHz mono PCM16 WAV with silence around it: what Chromium loops as its fake microphone."""
    import av

    rate = 48_000
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    chunks: list[np.ndarray] = []
    with av.open(str(source)) as container:
        for frame in container.decode(container.streams.audio[0]):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    silence = np.zeros(rate * 2, dtype=np.int16)
    samples = np.concatenate([silence[: rate // 2], *chunks, silence]).astype(np.int16)
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return target


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test clip with trailing silence; Chromium loops it as the microphone."""
    return fake_mic_wav(SPEECH, tmp_path_factory.mktemp("speech") / "speech-48k.wav")


def launch(pw: Any, chromium_path: Path, profile: Path, microphone: Path) -> Any:
    """Headless Debian Chromium whose fake microphone plays ``microphone`` (a WAV) in a loop."""
    return pw.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(chromium_path),
        headless=True,
        args=[
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}",
            "--allow-loopback-in-peer-connection",  # parley's ICE host candidates may be loopback only
            "--disable-features=WebRtcHideLocalIpsWithMdns",
        ],
        viewport={"width": 1400, "height": 860},
        permissions=["microphone", "clipboard-read", "clipboard-write"],
    )


@pytest.fixture(scope="module")
def browser(chromium_path: Path, speech_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        browser = launch(pw, chromium_path, profile, speech_wav)
        yield browser
        browser.close()


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    """Pages opened by one test (closed after it); errors in page scripts fail the test."""
    opened: list[Any] = []
    errors: list[str] = []
    browser.clear_cookies()

    def on_page(page: Any) -> None:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        opened.append(page)

    browser.on("page", on_page)
    yield opened
    browser.remove_listener("page", on_page)
    for page in opened:
        page.close()
    assert not errors, f"JavaScript errors: {errors}"


def sign_in(page: Any, server: ServerProcess, identity: str = "alice", secret: str | None = None) -> None:
    key, real_secret, _account = IDENTITIES[identity]
    page.goto(server.endpoint + "/")
    page.fill("#access-key-id", key)
    page.fill("#secret-access-key", secret if secret is not None else real_secret)
    page.click("#login-submit")


def create_meeting(page: Any, name: str) -> str:
    page.fill("#meeting-name", name)
    page.click("#create-meeting")
    page.wait_for_selector("#meeting-view:not([hidden])", timeout=UI_WAIT_MS)
    # A function, not an expression: the console's CSP forbids eval, and Playwright evals an expression each
    # time it polls (a run where the title was not there at the first check failed with EvalError).
    page.wait_for_function(
        "(name) => document.getElementById('meeting-title').textContent === name",
        arg=name,
        timeout=UI_WAIT_MS,
    )
    page.wait_for_selector("#viewer-state[data-state='live']", timeout=UI_WAIT_MS)
    return str(page.text_content("#meeting-id"))


def add_attendee(page: Any, name: str, listen_only: bool = False) -> str:
    page.fill("#attendee-name", name)
    if listen_only:
        page.check("#attendee-listen-only")
    page.click("#add-attendee")
    link = page.wait_for_selector(f".attendee[data-name='{name}'] a.join-link", timeout=UI_WAIT_MS)
    return str(link.get_attribute("href"))


def caption_text(page: Any) -> str:
    return str(page.inner_text("#captions .caption-list")).lower()


def wait_for_captions(page: Any) -> None:
    page.wait_for_function(
        """() => {
            const text = document.querySelector('#captions .caption-list').innerText.toLowerCase();
            return text.includes('budget') && (text.includes('thursday') || text.includes('sales'));
        }""",
        timeout=CAPTION_WAIT_MS,
    )


def test_live_captions_in_console_and_join_page(
    model_server: ServerProcess, browser: Any, pages: list[Any]
) -> None:
    console = browser.new_page()
    sign_in(console, model_server)
    console.wait_for_selector("#user-box:not([hidden])", timeout=UI_WAIT_MS)
    assert "alice" in console.inner_text("#who")
    meeting_id = create_meeting(console, "Budget review")
    assert re.fullmatch(r"[0-9a-f-]{36}", meeting_id)
    link = add_attendee(console, "Sam Speaker")
    assert link.startswith(model_server.endpoint + "/join#meeting=")
    assert "token=" in link.split("#", 1)[1], "the join token travels in the fragment only"

    join = browser.new_page()
    join.set_viewport_size({"width": 1100, "height": 800})
    join.goto(link)
    assert "Sam Speaker" in join.inner_text("#lobby-title")
    join.click("#join-mic")
    join.wait_for_selector("#call-state[data-state='live']", timeout=UI_WAIT_MS)
    assert join.inner_text("#audio-format") == "Opus · WebRTC", (
        "the page is a Chime signaling + WebRTC client"
    )
    # The console's roster and meeting list show who is connected (polled, no reload).
    console.wait_for_selector(".attendee[data-name='Sam Speaker'][data-connected='true']", timeout=UI_WAIT_MS)
    console.wait_for_selector(
        f".meeting-link[href='#meeting={meeting_id}'] .connected-count:text-is('1 in')", timeout=UI_WAIT_MS
    )

    console.select_option("#language", "en-US")
    console.select_option("#stability", "high")
    console.click("#start-transcription")
    for page in (console, join):
        page.wait_for_selector(".status-banner[data-kind='started']", timeout=UI_WAIT_MS)
        assert "en-US" in page.inner_text(".status-banner")
    assert console.is_enabled("#stop-transcription")

    wait_for_captions(console)
    wait_for_captions(join)
    # Best picture: a settled line followed by the next one still forming (the fake mic loops).
    # Only the screenshot waits for this; the assertions above do not depend on it.
    with contextlib.suppress(PlaywrightTimeout):
        console.wait_for_selector("#captions .caption:not(.partial) + .caption.partial", timeout=20_000)
    speakers = console.locator("#captions .caption .speaker").all_inner_texts()
    assert "Sam Speaker" in speakers
    assert console.locator("#captions .caption .language").first.inner_text() == "en-US"
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(DOCS_IMG / "console-captions.png"))
    join.screenshot(path=str(DOCS_IMG / "join-captions.png"))

    console.click("#stop-transcription")
    for page in (console, join):
        page.wait_for_selector(".status-banner[data-kind='stopped']", timeout=CAPTION_WAIT_MS)
        assert "Transcription stopped" in page.inner_text(".status-banner")
    assert console.is_enabled("#start-transcription")

    # The stored transcript downloads through the console session (the page's cookie).
    for fmt, marker in (("vtt", "WEBVTT"), ("srt", "-->"), ("jsonl", '"transcript"')):
        href = console.get_attribute(f"#download-{fmt}", "href")
        response = console.request.get(model_server.endpoint + href)
        assert response.status == 200, fmt
        body = response.text()
        assert marker in body
        assert "budget" in body.lower()
    assert (
        "<v Sam Speaker>"
        in console.request.get(
            model_server.endpoint + f"/console/api/meetings/{meeting_id}/transcript?format=vtt"
        ).text()
    )

    join.click("#leave")
    join.wait_for_selector("#problem[data-kind='left']", timeout=UI_WAIT_MS)
    console.wait_for_selector(
        ".attendee[data-name='Sam Speaker'][data-connected='false']", timeout=UI_WAIT_MS
    )


def test_bad_credentials_are_refused(model_server: ServerProcess, browser: Any, pages: list[Any]) -> None:
    page = browser.new_page()
    sign_in(page, model_server, secret="not-the-secret")
    error = page.wait_for_selector("#login-error:not([hidden])", timeout=UI_WAIT_MS)
    assert "Sign-in failed" in error.inner_text()
    assert page.is_hidden("#app-view")
    assert not [c for c in browser.cookies() if c["name"] == "parley_console"]


def test_invalid_join_token_says_so(model_server: ServerProcess, browser: Any, pages: list[Any]) -> None:
    page = browser.new_page()
    page.goto(
        model_server.endpoint
        + "/join#meeting=00000000-0000-4000-8000-000000000000&token=bm90LWEtcmVhbC10b2tlbg&name=Mallory"
    )
    page.click("#join-listen")
    problem = page.wait_for_selector("#problem[data-kind='token-invalid']", timeout=UI_WAIT_MS)
    assert "token invalid" in problem.inner_text().lower()


def test_join_page_learns_the_meeting_ended(
    model_server: ServerProcess, browser: Any, pages: list[Any]
) -> None:
    console = browser.new_page()
    sign_in(console, model_server)
    meeting_id = create_meeting(console, "Short one")
    link = add_attendee(console, "Lee Listener", listen_only=True)
    assert "listen=1" in link
    join = browser.new_page()
    join.goto(link)
    assert join.is_hidden("#join-mic"), "a listen-only attendee is not offered the microphone"
    join.click("#join-listen")
    join.wait_for_selector("#call-state[data-state='live']", timeout=UI_WAIT_MS)
    console.click("#start-transcription")
    console.wait_for_selector(".status-banner[data-kind='started']", timeout=UI_WAIT_MS)

    # End asks first and says what happens to the transcript; saying no changes nothing.
    asked: list[str] = []
    console.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    console.click("#delete-meeting")
    console.wait_for_timeout(500)
    assert asked, "End did not ask for confirmation"
    assert "kept until you delete it" in asked[0]
    assert join.is_hidden("#problem[data-kind='meeting-ended']")
    assert model_server.client().get_meeting(MeetingId=meeting_id)["Meeting"]["MeetingId"] == meeting_id

    console.once("dialog", lambda dialog: dialog.accept())
    console.click("#delete-meeting")
    problem = join.wait_for_selector("#problem[data-kind='meeting-ended']", timeout=UI_WAIT_MS)
    assert "meeting ended" in problem.inner_text().lower()
    console.wait_for_selector(".status-banner[data-kind='ended']", timeout=UI_WAIT_MS)
    assert "kept until you delete it" in console.inner_text(".status-banner")
    console.wait_for_selector(".meeting-link[data-state='ended']", timeout=UI_WAIT_MS)

    # The ended meeting's transcript is listed under Transcripts and still downloads; Delete (confirmed)
    # removes it.
    entry = console.wait_for_selector(
        f".transcript-entry[data-meeting-id='{meeting_id}'][data-state='ended']", timeout=UI_WAIT_MS
    )
    href = entry.query_selector("a[href*='format=vtt']").get_attribute("href")
    assert console.request.get(model_server.endpoint + href).text().startswith("WEBVTT")
    console.once("dialog", lambda dialog: dialog.accept())
    entry.query_selector("button").click()
    console.wait_for_selector(
        f".transcript-entry[data-meeting-id='{meeting_id}']", state="detached", timeout=UI_WAIT_MS
    )
    assert console.request.get(model_server.endpoint + href).status == 404


def test_the_console_follows_the_account_without_a_reload(
    model_server: ServerProcess, browser: Any, pages: list[Any]
) -> None:
    console = browser.new_page()
    sign_in(console, model_server)
    console.wait_for_selector("#user-box:not([hidden])", timeout=UI_WAIT_MS)
    # A meeting made with boto3 (not through this page) appears in the open console.
    chime = model_server.client()
    meeting_id = chime.create_meeting(ExternalMeetingId="Made by boto3", MediaRegion="us-east-1")["Meeting"][
        "MeetingId"
    ]
    console.wait_for_selector(f".meeting-link[href='#meeting={meeting_id}']", timeout=UI_WAIT_MS)
    console.click(f".meeting-link[href='#meeting={meeting_id}']")
    console.wait_for_selector("#meeting-title:text-is('Made by boto3')", timeout=UI_WAIT_MS)
    # The roster follows attendees added and removed elsewhere.
    kim = chime.create_attendee(MeetingId=meeting_id, ExternalUserId="Kim")["Attendee"]
    console.wait_for_selector(".attendee[data-name='Kim']", timeout=UI_WAIT_MS)
    chime.delete_attendee(MeetingId=meeting_id, AttendeeId=kim["AttendeeId"])
    console.wait_for_selector(".attendee[data-name='Kim']", state="detached", timeout=UI_WAIT_MS)
    # Ended elsewhere: gone from the live list.
    chime.delete_meeting(MeetingId=meeting_id)
    console.wait_for_selector(
        f".meeting-link[href='#meeting={meeting_id}'][data-state='open']",
        state="detached",
        timeout=UI_WAIT_MS,
    )
