"""The meeting hub (live/hub.py) driven by one typed message at a time (live/messages.py): what each message does to
this node's sessions, including the ones a hub must ignore (its own replayed finals, acknowledgements meant for the
coordinating node). A fake runtime and fake sessions: the hub's own logic, not the transports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from parley.config import LiveSettings
from parley.live.hub import MeetingHub
from parley.live.messages import (
    Ack,
    AttendeeRemoved,
    Barrier,
    Closed,
    Ended,
    EngineStatus,
    Events,
    Replaced,
)
from parley.live.session import CloseCode
from parley.transcripts.events import TranscriptionStatus

NODE = "node-here"
STATUS = TranscriptionStatus(
    type="stopped", event_time_ms=1, transcription_region="us-east-1", transcription_configuration="{}"
)


@dataclass
class FakeSession:
    attendee_id: str
    connection_id: str
    events: list[Any] = field(default_factory=list)
    closed: tuple[int, str] | None = None

    @property
    def attendee(self) -> Any:
        return type("A", (), {"attendee_id": self.attendee_id, "meeting_id": "m-1"})()

    def send_events(self, events: Any, _encoded: Any = None) -> None:
        self.events.extend(events)

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


@dataclass
class FakeRuntime:
    node_id: str = NODE
    metrics: Any = None
    settings: LiveSettings = field(default_factory=LiveSettings)
    published: list[Any] = field(default_factory=list)
    ended: list[tuple[int, str]] = field(default_factory=list)

    @staticmethod
    def channel(meeting_id: str) -> str:
        return f"meeting:{meeting_id}"

    async def publish(self, _meeting_id: str, message: Any) -> None:
        self.published.append(message)

    async def end_hub(self, hub: MeetingHub, code: int, reason: str) -> None:
        self.ended.append((code, reason))
        for session in hub.sessions.values():
            session.close(code, reason)


@pytest.fixture
def hub() -> MeetingHub:
    meeting = type("M", (), {"meeting_id": "m-1"})()
    h = MeetingHub(FakeRuntime(), meeting)  # type: ignore[arg-type]
    h.sessions = {"ann": FakeSession("ann", "c-ann"), "bob": FakeSession("bob", "c-bob")}  # type: ignore[dict-item]
    return h


def sessions(hub: MeetingHub) -> dict[str, FakeSession]:
    return hub.sessions  # type: ignore[return-value]


async def test_events_reach_every_session_but_a_nodes_own_replays_do_not(hub: MeetingHub) -> None:
    await hub._dispatch(Events((STATUS,)))
    assert [len(s.events) for s in sessions(hub).values()] == [1, 1]
    await hub._dispatch(Events((STATUS,), origin=NODE))  # held back in a bus outage, delivered here then
    assert [len(s.events) for s in sessions(hub).values()] == [1, 1]
    await hub._dispatch(Events((STATUS,), origin="another-node"))
    assert [len(s.events) for s in sessions(hub).values()] == [2, 2]


async def test_engine_status_is_remembered_for_joiners(hub: MeetingHub) -> None:
    await hub._dispatch(EngineStatus("interrupted"))
    assert hub.interrupted
    await hub._dispatch(EngineStatus("resumed"))
    assert not hub.interrupted


async def test_attendee_removed_closes_that_attendee_4411(hub: MeetingHub) -> None:
    ann = sessions(hub)["ann"]
    await hub._dispatch(AttendeeRemoved("ann"))
    assert ann.closed == (CloseCode.ATTENDEE_REMOVED, "the attendee was deleted")
    assert "ann" not in hub.sessions
    assert sessions(hub)["bob"].closed is None


async def test_barrier_closes_only_its_connection(hub: MeetingHub) -> None:
    await hub._dispatch(Barrier("c-bob"))
    assert sessions(hub)["bob"].closed == (CloseCode.NORMAL, "stopped")
    assert sessions(hub)["ann"].closed is None
    await hub._dispatch(Barrier("c-unknown"))  # another node's connection: nothing here
    assert sessions(hub)["ann"].closed is None


async def test_replaced_closes_the_older_connection_not_the_new_one(hub: MeetingHub) -> None:
    ann = sessions(hub)["ann"]
    await hub._dispatch(Replaced("ann", "c-ann"))  # the announcement of this very connection
    assert ann.closed is None
    await hub._dispatch(Replaced("ann", "c-ann-2"))  # the attendee joined again elsewhere
    assert ann.closed is not None
    assert ann.closed[0] == CloseCode.REPLACED
    assert "ann" not in hub.sessions


async def test_acks_are_for_the_coordinator_not_the_hub(hub: MeetingHub) -> None:
    await hub._dispatch(Ack("req-1", "node-x"))
    assert all(s.closed is None and not s.events for s in sessions(hub).values())
    assert hub.runtime.published == []  # type: ignore[attr-defined]


async def test_ended_waits_for_every_node_then_says_stopped_and_closes_4410(hub: MeetingHub) -> None:
    runtime: FakeRuntime = hub.runtime  # type: ignore[assignment]
    await hub._dispatch(Ended(("node-a", "node-b"), (STATUS,)))
    assert runtime.ended == []  # two other nodes are still finishing their speech
    await hub._dispatch(Closed("node-a"))
    assert runtime.ended == []
    await hub._dispatch(Closed("node-b"))
    assert runtime.ended == [(CloseCode.MEETING_ENDED, "the meeting ended")]
    assert all(s.events == [STATUS] for s in sessions(hub).values())  # `stopped`, then the close
    await hub._dispatch(Closed("node-b"))  # late or repeated: nothing more
    assert len(runtime.ended) == 1
    for task in hub._ending_tasks:
        task.cancel()


async def test_a_node_in_the_ending_finishes_its_speech_and_says_closed(hub: MeetingHub) -> None:
    runtime: FakeRuntime = hub.runtime  # type: ignore[assignment]
    await hub._dispatch(Ended((NODE,), ()))
    for task in list(hub._ending_tasks):
        if not task.get_name().startswith("ending-"):
            task.cancel()
    await next(t for t in hub._ending_tasks if t.get_name().startswith("ending-"))
    assert runtime.published == [Closed(NODE)]


def transcribing(hub: MeetingHub) -> MeetingHub:
    from parley.store import TranscriptionState

    hub.state = TranscriptionState(
        meeting_id="m-1",
        status="started",
        configuration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
        region="us-east-1",
        started_at=1.0,
        updated_at=1.0,
    )
    return hub


def statuses(session: FakeSession) -> list[str]:
    return [e.type for e in session.events if isinstance(e, TranscriptionStatus)]


async def test_a_dead_nodes_speaker_is_interrupted_until_they_connect_again(hub: MeetingHub) -> None:
    transcribing(hub)
    hub.speakers_lost({"cat", "dan"})  # their node stopped answering (LiveRuntime._watch_nodes)
    hub.speakers_lost({"cat"})  # said once, however many times the loss is reported
    assert [statuses(s) for s in sessions(hub).values()] == [["interrupted"], ["interrupted"]]
    await hub._dispatch(Replaced("cat", "c-cat-2"))  # cat is back, on some node
    assert statuses(sessions(hub)["ann"]) == ["interrupted"]  # dan is not
    await hub._dispatch(AttendeeRemoved("dan"))  # a deleted attendee is not waited for
    assert [statuses(s) for s in sessions(hub).values()] == [["interrupted", "resumed"]] * 2
    assert not hub.lost


async def test_a_lost_speaker_connected_here_or_a_meeting_not_transcribed_says_nothing(
    hub: MeetingHub,
) -> None:
    hub.speakers_lost({"cat"})  # not transcribing: nothing to interrupt
    transcribing(hub)
    hub.speakers_lost({"ann"})  # ann's old connection was on the dead node, but ann is connected here already
    assert [statuses(s) for s in sessions(hub).values()] == [[], []]
    assert not hub.lost
