"""parley's own join page is a meeting client like a Chime SDK app: in one meeting with an official SDK client
(amazon-chime-sdk-js 3.32.0), both in headless Chromium, each sees the other's camera (a Y4M file painted one
colour, read back from the tile's <video> through a canvas), each sees the other's screen share as a content tile,
and a stopped camera or share leaves the other side's tiles.

The join page speaks Chime signaling itself (web/static/js/meeting-client.js, protobuf.js); the SDK side is the
bundle of tests/chime_js.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.server import ServerProcess, write_credentials
from tests.signaling.conftest import WAIT_MS
from tests.signaling.test_chime_js_video import (  # noqa: F401 (camera_browser is a fixture)
    CAMERA_RGB,
    CONTENT_RGB,
    HEIGHT,
    TOLERANCE,
    WIDTH,
    camera_browser,
    remote_tile,
    shows,
)

pytestmark = [pytest.mark.model, pytest.mark.browser]

PIXELS = Path(__file__).resolve().parents[1] / "chime_js" / "pixels.js"  # window.parleyVideoPixels(video)


def page_tile_shows(page: Any, attendee_id: str, kind: str, rgb: tuple[int, int, int]) -> dict[str, Any]:
    """Wait until the join page has a ``kind`` tile of ``attendee_id`` playing frames of colour ``rgb``."""
    selector = f'.tile[data-kind="{kind}"][data-attendee-id="{attendee_id}"] video'
    page.wait_for_function(
        "([selector, rgb, tol]) => { const p = window.parleyVideoPixels(document.querySelector(selector));"
        " return p !== null && p.frames > 0 && p.rgb.every((c, i) => Math.abs(c - rgb[i]) <= tol); }",
        arg=[selector, list(rgb), TOLERANCE],
        timeout=WAIT_MS,
    )
    return dict(page.evaluate("s => window.parleyVideoPixels(document.querySelector(s))", selector))


def tile_removed(page: Any, tile_id: int) -> None:
    """Wait until the SDK app's tile ``tile_id`` is removed (videoTileWasRemoved)."""
    page.wait_for_function(
        "id => window.parley.tileEvents.some(e => e.event === 'removed' && e.tileId === id)",
        arg=tile_id,
        timeout=WAIT_MS,
    )


@contextlib.contextmanager
def meeting_with_page_and_sdk(
    server: ServerProcess, browser: Any, page_url: str
) -> Iterator[tuple[dict[str, Any], dict[str, Any], Any, Any]]:
    """Pat on parley's join page (joined with the microphone), Ann on the SDK page: (pat, ann, join, sdk)."""
    chime = server.client()
    meeting = chime.create_meeting(ExternalMeetingId="join-page-video", MediaRegion="us-east-1")["Meeting"]
    pat, ann = (
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        for name in ("Pat Page", "Ann Sdk")
    )
    join, sdk = browser.new_page(), browser.new_page()
    join.add_init_script(path=str(PIXELS))
    console: list[str] = []
    errors: list[str] = []
    for name, page in (("join", join), ("sdk", sdk)):
        page.on("console", lambda m, name=name: console.append(f"{name} {m.type}: {m.text}"))
    join.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        join.goto(
            f"{server.endpoint}/join#meeting={meeting['MeetingId']}&token={pat['JoinToken']}&name=Pat%20Page"
        )
        join.click("#join-mic")
        join.wait_for_selector("#call-state[data-state='live']", timeout=WAIT_MS)
        sdk.goto(page_url)
        sdk.evaluate("([m, a]) => window.parleyJoin(m, a, {})", [{"Meeting": meeting}, {"Attendee": ann}])
        sdk.wait_for_function("window.parley.started === true", timeout=WAIT_MS)
        yield pat, ann, join, sdk
        assert not errors, f"JavaScript errors on the join page: {errors}"
    except Exception:
        print("\n".join(console[-80:]))
        raise
    finally:
        join.close()
        sdk.close()


def test_the_join_page_and_a_chime_sdk_app_see_each_others_cameras(
    model_server: ServerProcess,
    page_url: str,
    camera_browser: Any,  # noqa: F811
) -> None:
    with meeting_with_page_and_sdk(model_server, camera_browser, page_url) as (pat, ann, join, sdk):
        # The page hears the meeting: its <audio> plays the mix, and the SDK app sees Pat present.
        sdk.wait_for_function(
            "id => window.parley.presence.some(p => p.attendeeId === id && p.present)",
            arg=pat["AttendeeId"],
            timeout=WAIT_MS,
        )
        join.wait_for_function(
            "() => { const a = document.getElementById('meeting-audio');"
            " return a.srcObject && a.srcObject.getAudioTracks().length === 1 && !a.paused; }",
            timeout=WAIT_MS,
        )

        # Ann's camera (the SDK) on the join page, in colour, labelled with her name.
        sdk.evaluate("window.parleyStartVideo()")
        seen = page_tile_shows(join, ann["AttendeeId"], "camera", CAMERA_RGB)
        assert (seen["width"], seen["height"]) == (WIDTH, HEIGHT)
        label = join.inner_text(f'.tile[data-attendee-id="{ann["AttendeeId"]}"] figcaption')
        assert label == "Ann Sdk"

        # Pat's camera (the join page) at the SDK app, in colour; the page previews it as its own tile, and never
        # receives it back (every tile the page adds from here on is checked).
        join.evaluate(
            """(own) => { window.ownTiles = 0; new MutationObserver((changes) => { for (const c of changes)
                for (const n of c.addedNodes) if (n.dataset && n.dataset.attendeeId === own) window.ownTiles++; })
              .observe(document.getElementById('tiles'), { childList: true }); }""",
            pat["AttendeeId"],
        )
        join.click("#camera")
        join.wait_for_selector('#camera[aria-pressed="true"]', timeout=WAIT_MS)
        tile = remote_tile(sdk, pat["AttendeeId"])
        assert tile["externalUserId"] == "Pat Page"
        shows(sdk, tile["tileId"], CAMERA_RGB)
        assert join.locator('.tile[data-kind="self"]').count() == 1
        assert join.evaluate("window.ownTiles") == 0

        # Stopping the camera removes Pat's tile at the SDK app; Ann's stop removes hers on the page.
        join.click("#camera")
        tile_removed(sdk, tile["tileId"])
        assert join.locator('.tile[data-kind="self"]').count() == 0
        sdk.evaluate("window.parleyStopVideo()")
        join.wait_for_selector(
            f'.tile[data-attendee-id="{ann["AttendeeId"]}"]', state="detached", timeout=WAIT_MS
        )
        assert join.is_hidden("#stage")
        assert sdk.evaluate("window.parley.starts") == 1  # no reconnects on the SDK side


def test_the_join_page_shares_its_screen_and_shows_the_sdk_apps_share(
    model_server: ServerProcess,
    page_url: str,
    camera_browser: Any,  # noqa: F811
) -> None:
    with meeting_with_page_and_sdk(model_server, camera_browser, page_url) as (pat, ann, join, sdk):
        # Ann shares a canvas through the SDK: the page shows it as a content tile, in colour.
        sdk.evaluate("rgb => window.parleyShareContent(rgb)", list(CONTENT_RGB))
        page_tile_shows(join, ann["AttendeeId"] + "#content", "content", CONTENT_RGB)
        assert "screen" in join.inner_text(".tile[data-kind='content'] figcaption")
        sdk.evaluate("window.parleyStopContent()")
        join.wait_for_selector(".tile[data-kind='content']", state="detached", timeout=WAIT_MS)

        # Pat shares the screen from the page (Chromium's fake capture): the SDK app gets a content tile of
        # Pat's `#content` attendee that plays frames; Stop sharing removes it.
        # Every content tile the page ever adds from here on is counted: it must never show its own share, not
        # even for a moment (INDEX lists the share before the share's connection knows its stream ids).
        join.evaluate(
            """() => { window.contentTiles = 0; new MutationObserver((changes) => { for (const c of changes)
                for (const n of c.addedNodes) if (n.dataset && n.dataset.kind === 'content') window.contentTiles++; })
              .observe(document.getElementById('tiles'), { childList: true }); }"""
        )
        join.click("#share")
        join.wait_for_selector('#share[aria-pressed="true"]', timeout=WAIT_MS)
        tile = remote_tile(sdk, pat["AttendeeId"] + "#content")
        assert tile["isContent"] is True
        sdk.wait_for_function(
            "id => { const p = window.parleyTilePixels(id); return p !== null && p.frames > 0; }",
            arg=tile["tileId"],
            timeout=WAIT_MS,
        )
        # The page does not receive its own share back.
        join.wait_for_timeout(1000)
        assert join.evaluate("window.contentTiles") == 0
        join.click("#share")
        tile_removed(sdk, tile["tileId"])
        assert join.get_attribute("#share", "aria-pressed") == "false"


def test_the_join_page_rejoins_after_its_server_restarts_with_camera_and_mute_as_they_were(
    tmp_path: Any,
    page_url: str,
    camera_browser: Any,  # noqa: F811
) -> None:
    """A stopping server closes the page's signaling socket with 4503, as it does the SDK's; the page rejoins
    with growing pauses while the server is down, and once it is back publishes the camera again, still muted.
    An SDK client joining afterwards sees Pat's camera in colour and Pat muted."""
    server = ServerProcess(
        data_dir=tmp_path / "data", credentials=write_credentials(tmp_path / "credentials")
    )
    server.start()
    join = camera_browser.new_page()
    join.add_init_script(path=str(PIXELS))
    sdk = camera_browser.new_page()
    errors: list[str] = []
    join.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        chime = server.client()
        meeting = chime.create_meeting(ExternalMeetingId="rejoin", MediaRegion="us-east-1")["Meeting"]
        pat, ann = (
            chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
            for name in ("Pat Page", "Ann Sdk")
        )
        join.goto(f"{server.endpoint}/join#meeting={meeting['MeetingId']}&token={pat['JoinToken']}")
        join.click("#join-mic")
        join.wait_for_selector("#call-state[data-state='live']", timeout=WAIT_MS)
        join.click("#camera")
        join.click("#mute")
        join.wait_for_selector('#camera[aria-pressed="true"]', timeout=WAIT_MS)

        server.stop()
        join.wait_for_selector("#call-state[data-state='connecting']", timeout=WAIT_MS)
        join.wait_for_timeout(1500)  # at least one rejoin finds nothing listening
        server.start()
        join.wait_for_selector("#call-state[data-state='live']", timeout=WAIT_MS)
        assert join.is_hidden("#problem")
        assert join.get_attribute("#mute", "aria-pressed") == "true"
        join.wait_for_selector('#camera[aria-pressed="true"]', timeout=WAIT_MS)

        sdk.goto(page_url)
        sdk.evaluate("([m, a]) => window.parleyJoin(m, a, {})", [{"Meeting": meeting}, {"Attendee": ann}])
        tile = remote_tile(sdk, pat["AttendeeId"])
        shows(sdk, tile["tileId"], CAMERA_RGB)
        sdk.wait_for_function(
            "id => window.parley.volumes[id]?.muted === true", arg=pat["AttendeeId"], timeout=WAIT_MS
        )
        assert not errors, errors
    finally:
        join.close()
        sdk.close()
        server.stop()
