"""Fuzzing the SDP edits parley makes around aiortc (signaling/video.py): whatever a client offers, and whatever
aiortc answered, the edits never raise (they run after the answer is made, where an exception would end the
socket with a server error) and never add or drop a media section."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from parley.signaling.video import (
    forwardable_offer,
    keep_stream_id_extensions,
    reject_closed_sections,
    video_sections,
)
from tests.fuzz.strategies import HOSTILE_TEXT

LINES = st.one_of(
    st.sampled_from(
        [
            "v=0",
            "a=group:BUNDLE 0 1 2",
            "a=group:BUNDLE",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
            "m=video 0 UDP/TLS/RTP/SAVPF 96",
            "m=video x",
            "m=video ² UDP/TLS/RTP/SAVPF 96",
            "m=video ０ UDP/TLS/RTP/SAVPF 96",
            "m=video",
            "m=",
            "a=mid:1",
            "a=mid:",
            "a=recvonly",
            "a=sendrecv",
            "a=rtpmap:96 VP8/90000",
            "a=rtpmap:97 rtx/90000",
            "a=rtpmap:98 VP9/90000",
            "a=rtpmap:",
            "a=fmtp:97 apt=96",
            "a=fmtp:99 apt=",
            "a=fmtp:97 apt=96;apt",
            "a=rtcp-fb:98 nack",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            "a=extmap:11/sendonly urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
            "a=extmap:",
            "a=rid:low send",
            "a=simulcast:send low;mid;hi",
        ]
    ),
    HOSTILE_TEXT,
)
SDP = st.lists(LINES, max_size=25).map(lambda lines: "\r\n".join(lines))


def _sections(sdp: str) -> int:
    return sum(1 for line in sdp.splitlines() if line.startswith("m="))


@given(offer=SDP, answer=SDP)
@example(offer="m=video ² UDP/TLS/RTP/SAVPF 96", answer="")  # a non-ASCII digit as the port: int() refused it
def test_the_sdp_edits_never_raise_and_keep_every_section(offer: str, answer: str) -> None:
    forwardable = forwardable_offer(offer)
    assert _sections(forwardable) == _sections(offer)
    video_sections(forwardable)
    edited = keep_stream_id_extensions(reject_closed_sections(answer, forwardable), forwardable)
    assert _sections(edited) == _sections(answer)
