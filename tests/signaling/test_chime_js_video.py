"""Camera video between two official SDK clients (amazon-chime-sdk-js 3.32.0) in headless Chromium, forwarded by
parley without decoding: A's camera (a Y4M file painted one colour) appears as a tile at B and plays that colour,
B pauses and resumes it, and A's stop removes B's tile. Audio stays up throughout (presence, the mix).

The page and bundle are tests/chime_js (tests/signaling/conftest.py); this browser adds a fake camera.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.console import signed_in
from harness.server import ServerProcess
from tests.signaling.conftest import WAIT_MS, chromium

pytestmark = [pytest.mark.model, pytest.mark.browser]

WIDTH, HEIGHT, FPS = 320, 240, 15
CAMERA_RGB = (200, 40, 160)  # what A's camera shows: a colour no fake device or black frame has
TOLERANCE = 40  # per channel, after VP8 at the SDK's bitrate and YUV 4:2:0 round trips


def rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """BT.601 limited range, as Chromium reads Y4M."""
    r, g, b = rgb
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return round(y), round(u), round(v)


def write_y4m(path: Path, rgb: tuple[int, int, int], frames: int = FPS * 2) -> None:
    y, u, v = rgb_to_yuv(rgb)
    plane_y = np.full(WIDTH * HEIGHT, y, dtype=np.uint8).tobytes()
    plane_u = np.full(WIDTH * HEIGHT // 4, u, dtype=np.uint8).tobytes()
    plane_v = np.full(WIDTH * HEIGHT // 4, v, dtype=np.uint8).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + plane_y + plane_u + plane_v)


@pytest.fixture(scope="module")
def camera_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    camera = tmp_path_factory.mktemp("camera") / "camera.y4m"
    write_y4m(camera, CAMERA_RGB)
    with chromium(
        tmp_path_factory, [f"--use-file-for-fake-video-capture={camera}"], ["microphone", "camera"]
    ) as ctx:
        yield ctx


def remote_tile(page: Any, attendee_id: str) -> dict[str, Any]:
    page.wait_for_function(
        "id => Object.values(window.parley.tiles).some(t => t.attendeeId === id && !t.localTile && !t.removed)",
        arg=attendee_id,
        timeout=WAIT_MS,
    )
    tiles = page.evaluate("Object.values(window.parley.tiles)")
    return next(
        t for t in tiles if t["attendeeId"] == attendee_id and not t["localTile"] and not t.get("removed")
    )


def shows(page: Any, tile_id: int, rgb: tuple[int, int, int]) -> dict[str, Any]:
    """Wait until the tile's <video> element plays frames of colour ``rgb``; what it showed."""
    page.wait_for_function(
        "([id, rgb, tol]) => { const p = window.parleyTilePixels(id);"
        " return p !== null && p.frames > 0 && p.rgb.every((c, i) => Math.abs(c - rgb[i]) <= tol); }",
        arg=[tile_id, list(rgb), TOLERANCE],
        timeout=WAIT_MS,
    )
    return page.evaluate("id => window.parleyTilePixels(id)", tile_id)


@contextlib.contextmanager
def started(
    server: ServerProcess,
    browser: Any,
    page_url: str,
    names: list[str],
    options: list[dict[str, Any]] | None = None,
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], list[Any]]]:
    """A new meeting with one SDK client per name (``options``: each one's ``parleyJoin`` options), all started:
    (meeting, attendees, pages). The pages' console is printed if the body fails; the pages close after it."""
    chime = server.client()
    meeting = chime.create_meeting(ExternalMeetingId="chime-js-video", MediaRegion="us-east-1")["Meeting"]
    attendees = [
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        for name in names
    ]
    pages = [browser.new_page() for _ in names]
    console: list[str] = []
    for name, page in zip(names, pages, strict=True):
        page.on("console", lambda m, name=name: console.append(f"{name} {m.type}: {m.text}"))
    try:
        for page, attendee, option in zip(pages, attendees, options or [{} for _ in names], strict=True):
            page.goto(page_url)
            page.evaluate(
                "([m, a, o]) => window.parleyJoin(m, a, o)",
                [{"Meeting": meeting}, {"Attendee": attendee}, option],
            )
        for page in pages:
            page.wait_for_function("window.parley.started === true", timeout=WAIT_MS)
        yield meeting, attendees, pages
    except Exception:
        print("\n".join(console[-80:]))
        raise
    finally:
        for page in pages:
            page.close()


def test_camera_video_is_forwarded_between_two_chime_sdk_clients(
    model_server: ServerProcess,
    page_url: str,
    camera_browser: Any,
) -> None:
    with started(model_server, camera_browser, page_url, ["Ann Camera", "Bob Viewer"]) as (_, people, pages):
        (ann, bob), (a, b) = people, pages
        a.evaluate("window.parleyStartVideo()")
        tile = remote_tile(b, ann["AttendeeId"])
        assert tile["externalUserId"] == "Ann Camera"
        assert tile["isContent"] is False
        seen = shows(b, tile["tileId"], CAMERA_RGB)
        assert (seen["width"], seen["height"]) == (WIDTH, HEIGHT)
        # BITRATES: the source's measured bitrate reaches B's video index (the INDEX that listed it said 0, as
        # nothing had been received yet; a camera of one flat colour needs only a few kbit/s).
        b.wait_for_function(
            "id => window.parleySourceBitrate(id) > 0", arg=ann["AttendeeId"], timeout=WAIT_MS
        )

        # Pause: parley stops forwarding that stream to Bob; resume starts again (from a keyframe).
        b.wait_for_function("window.parley.videoFramesReceived > 0", timeout=WAIT_MS)
        b.evaluate("id => window.parleyPauseTile(id)", tile["tileId"])
        b.wait_for_timeout(2500)  # stats come every second: let the last forwarded frames be counted
        paused_at = b.evaluate("window.parley.videoFramesReceived")
        b.wait_for_timeout(2500)
        assert b.evaluate("window.parley.videoFramesReceived") - paused_at <= 2
        b.evaluate("id => window.parleyUnpauseTile(id)", tile["tileId"])
        b.wait_for_function("n => window.parley.videoFramesReceived > n + 10", arg=paused_at, timeout=WAIT_MS)
        shows(b, tile["tileId"], CAMERA_RGB)

        # Audio is unaffected: both are present to each other, and Bob still receives the mix.
        for page, other in ((a, bob), (b, ann)):
            page.wait_for_function(
                "id => window.parley.presence.some(p => p.attendeeId === id && p.present)",
                arg=other["AttendeeId"],
                timeout=WAIT_MS,
            )
        b.wait_for_function("(window.parley.inbound?.packetsReceived ?? 0) > 0", timeout=WAIT_MS)

        a.evaluate("window.parleyStopVideo()")
        b.wait_for_function(
            "id => window.parley.tileEvents.some(e => e.event === 'removed' && e.tileId === id)",
            arg=tile["tileId"],
            timeout=WAIT_MS,
        )
        # ... and it comes back when Ann starts again.
        a.evaluate("window.parleyStartVideo()")
        again = remote_tile(b, ann["AttendeeId"])
        shows(b, again["tileId"], CAMERA_RGB)
        assert a.evaluate("window.parley.starts") == b.evaluate("window.parley.starts") == 1  # no reconnects


CONTENT_RGB = (30, 170, 220)  # what Ann shares: a canvas painted one colour


def test_content_share_reaches_the_other_client_as_a_content_tile(
    model_server: ServerProcess,
    page_url: str,
    camera_browser: Any,
) -> None:
    """Ann shares content: the SDK's second session (``<attendee>#content``, token ``<token>#content``) joins,
    Ann's app hears ``contentShareDidStart``, Bob gets a content tile that plays what Ann shares and sees the
    content attendee present; Ann's stop ends all of it, and DeleteAttendee of Ann ends a share in progress."""
    chime = model_server.client()

    def presence_of(page: Any, attendee_id: str, present: bool) -> None:
        page.wait_for_function(
            "([id, present]) => window.parley.presence.filter(p => p.attendeeId === id).at(-1)?.present === present",
            arg=[attendee_id, present],
            timeout=WAIT_MS,
        )

    names = ["Ann Presenter", "Bob Viewer"]
    with started(model_server, camera_browser, page_url, names) as (m, people, pages):
        ann, (a, b) = people[0], pages
        mid = m["MeetingId"]
        content_id = ann["AttendeeId"] + "#content"
        a.evaluate("rgb => window.parleyShareContent(rgb)", list(CONTENT_RGB))
        a.wait_for_function("window.parley.contentShare.includes('started')", timeout=WAIT_MS)
        tile = remote_tile(b, content_id)
        assert tile["isContent"] is True
        assert tile["externalUserId"] == "Ann Presenter"
        seen = shows(b, tile["tileId"], CONTENT_RGB)
        assert (seen["width"], seen["height"]) == (640, 360)
        presence_of(b, content_id, True)
        web = signed_in(model_server)  # the console's roster shows Ann sharing, and counts her once
        try:
            attendees = web.get(f"/console/api/meetings/{mid}/attendees").json()["Attendees"]
            summary = web.get(f"/console/api/meetings/{mid}").json()
        finally:
            web.close()
        assert {a["ExternalUserId"]: a["SharingContent"] for a in attendees} == {
            "Ann Presenter": True,
            "Bob Viewer": False,
        }
        assert summary["ConnectedAttendees"] == 2
        # The sharer shows its own share from the captured stream: nothing is forwarded back to it.
        a.wait_for_timeout(2000)  # inbound stats come every second
        assert a.evaluate("window.parley.videoFramesReceived") == 0

        a.evaluate("window.parleyStopContent()")
        b.wait_for_function(
            "id => window.parley.tileEvents.some(e => e.event === 'removed' && e.tileId === id)",
            arg=tile["tileId"],
            timeout=WAIT_MS,
        )
        presence_of(b, content_id, False)
        a.wait_for_function("window.parley.contentShare.includes('stopped')", timeout=WAIT_MS)

        # Deleting Ann ends a share in progress with her: Bob sees the content attendee leave too.
        a.evaluate("rgb => window.parleyShareContent(rgb)", list(CONTENT_RGB))
        presence_of(b, content_id, True)
        chime.delete_attendee(MeetingId=mid, AttendeeId=ann["AttendeeId"])
        presence_of(b, content_id, False)
        presence_of(b, ann["AttendeeId"], False)
        assert b.evaluate("window.parley.starts") == 1


def test_a_client_with_simulcast_on_publishes_its_first_layer_without_reconnecting(
    model_server: ServerProcess,
    page_url: str,
    camera_browser: Any,
) -> None:
    """Simulcast (off by default in the SDK, and deprecated there) is answered as one layer (D40): Ann's browser
    sends its first encoding, the lowest (a quarter of the camera's size), which Bob plays in colour; her session
    never reconnects, although Chrome checks every later offer for the RID extension. A third attendee makes it a
    meeting: in a one-to-one call the SDK turns that lowest layer off (documented in docs/chime-js.md)."""
    options = [{"simulcast": True}, {}, {}]
    with started(model_server, camera_browser, page_url, ["Ann", "Bob", "Cat"], options) as (
        _,
        people,
        pages,
    ):
        ann, (a, b, _) = people[0], pages
        a.evaluate("window.parleyStartVideo()")
        tile = remote_tile(b, ann["AttendeeId"])
        seen = shows(b, tile["tileId"], CAMERA_RGB)
        assert (seen["width"], seen["height"]) == (WIDTH // 4, HEIGHT // 4)
        b.wait_for_timeout(3000)  # a renegotiation after the camera started would have failed by now
        assert [page.evaluate("window.parley.starts") for page in pages] == [1, 1, 1]


def test_a_viewer_with_the_priority_based_downlink_policy_gets_the_camera(
    model_server: ServerProcess,
    page_url: str,
    camera_browser: Any,
) -> None:
    """The SDK's demo app subscribes with ``VideoPriorityBasedPolicy``: it picks streams by their bitrate (INDEX,
    then BITRATES) against its downlink estimate, rather than all of them at once. Bob uses it and still gets Ann's
    camera, in colour."""
    options = [{}, {"priorityPolicy": True}]
    with started(model_server, camera_browser, page_url, ["Ann", "Bob"], options) as (_, people, pages):
        ann, (a, b) = people[0], pages
        a.evaluate("window.parleyStartVideo()")
        tile = remote_tile(b, ann["AttendeeId"])
        shows(b, tile["tileId"], CAMERA_RGB)
        assert b.evaluate("window.parley.starts") == 1
