"""The store against both real backends: SQLite and the machine's PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import pytest

from parley.store import Attendee, Meeting, Store, TranscriptionState
from parley.store.sql import Conflict, LimitReached

ACCOUNT = "111122223333"


def _meeting(n: int = 0, token: str | None = None, account: str = ACCOUNT) -> Meeting:
    return Meeting(
        meeting_id=f"00000000-0000-4000-8000-{n:012d}",
        account_id=account,
        region="us-east-1",
        media_region="us-east-1",
        created_at=time.time(),
        client_request_token=token,
        features={"Attendee": {"MaxCount": 5}},
        tenant_ids=["t"],
    )


def _attendee(meeting_id: str, n: int, external: str | None = None) -> Attendee:
    return Attendee(
        attendee_id=f"aaaaaaaa-0000-4000-8000-{n:012d}",
        meeting_id=meeting_id,
        external_user_id=external or f"user-{n}",
        join_token=f"token-{meeting_id}-{n}",
        capabilities={"Audio": "SendReceive", "Video": "None", "Content": "None"},
        created_at=time.time() + n * 1e-3,
    )


async def test_meeting_round_trip_and_delete_cascades(store: Store) -> None:
    m = _meeting(1, token="tok")
    await store.create_meeting(m, [_attendee(m.meeting_id, 1)], [("k", "v")], max_active=10)
    assert await store.get_meeting(ACCOUNT, m.meeting_id) == m
    assert await store.get_meeting("999999999999", m.meeting_id) is None
    assert await store.find_meeting_by_token(ACCOUNT, "tok") == m
    assert await store.list_tags(m.meeting_id) == [("k", "v")]
    await store.save_transcription(
        TranscriptionState(m.meeting_id, "started", {"EngineTranscribeSettings": {}}, "us-east-1", 1.0, 1.0)
    )
    assert await store.delete_meeting(ACCOUNT, m.meeting_id) == frozenset()
    assert await store.get_meeting(ACCOUNT, m.meeting_id) is None
    assert await store.get_attendee_by_token(f"token-{m.meeting_id}-1") is None
    assert await store.list_tags(m.meeting_id) == []
    assert await store.get_transcription(m.meeting_id) is None
    assert await store.delete_meeting(ACCOUNT, m.meeting_id) is None


async def test_client_request_token_is_unique_per_account(store: Store) -> None:
    await store.create_meeting(_meeting(1, token="same"), [], [], max_active=10)
    with pytest.raises(Conflict):
        await store.create_meeting(_meeting(2, token="same"), [], [], max_active=10)
    await store.create_meeting(_meeting(3, token="same", account="444455556666"), [], [], max_active=10)


async def test_active_meeting_limit_holds_under_concurrency(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create_meeting(_meeting(i), [], [], max_active=3) for i in range(8)), return_exceptions=True
    )
    assert sum(isinstance(r, Meeting) for r in results) == 3
    assert all(isinstance(r, Meeting | LimitReached) for r in results)
    assert len(await store.list_meetings(ACCOUNT)) == 3


async def test_attendee_limit_holds_under_concurrency(store: Store) -> None:
    m = _meeting(1)
    await store.create_meeting(m, [], [], max_active=10)
    results = await asyncio.gather(
        *(store.add_attendees(m.meeting_id, [_attendee(m.meeting_id, i)], 4) for i in range(10))
    )
    stored = [r[0] for r in results if r is not None and isinstance(r[0], Attendee)]
    assert len(stored) == 4
    assert len(await store.list_attendees(m.meeting_id, None, 100)) == 4


async def test_external_user_id_is_idempotent_case_insensitively(store: Store) -> None:
    m = _meeting(1)
    await store.create_meeting(m, [], [], max_active=10)
    (first,) = await store.add_attendees(m.meeting_id, [_attendee(m.meeting_id, 1, "Ann")], 10) or []
    (second,) = await store.add_attendees(m.meeting_id, [_attendee(m.meeting_id, 2, "ANN")], 10) or []
    assert first == second
    assert (
        await store.add_attendees("00000000-0000-4000-8000-999999999999", [_attendee(m.meeting_id, 3)], 10)
        is None
    )


async def test_pagination_order_and_capability_updates(store: Store) -> None:
    m = _meeting(1)
    await store.create_meeting(m, [_attendee(m.meeting_id, i) for i in range(5)], [], max_active=10)
    page1 = await store.list_attendees(m.meeting_id, None, 2)
    page2 = await store.list_attendees(m.meeting_id, (page1[-1].created_at, page1[-1].attendee_id), 2)
    page3 = await store.list_attendees(m.meeting_id, (page2[-1].created_at, page2[-1].attendee_id), 2)
    ids = [a.attendee_id for a in page1 + page2 + page3]
    assert ids == [_attendee(m.meeting_id, i).attendee_id for i in range(5)]
    none = {"Audio": "None", "Video": "None", "Content": "None"}
    assert await store.update_capabilities(m.meeting_id, none, exclude=[ids[0]]) == 4
    after = {a.attendee_id: a.capabilities for a in await store.list_attendees(m.meeting_id, None, 10)}
    assert after[ids[0]]["Audio"] == "SendReceive"
    assert all(after[i] == none for i in ids[1:])


async def test_tags_limit_and_upsert(store: Store) -> None:
    m = _meeting(1)
    await store.create_meeting(m, [], [("a", "1")], max_active=10)
    assert await store.put_tags(m.meeting_id, [("a", "2"), ("b", "1")], max_tags=2)
    assert await store.list_tags(m.meeting_id) == [("a", "2"), ("b", "1")]
    assert not await store.put_tags(m.meeting_id, [("c", "1")], max_tags=2)
    assert await store.list_tags(m.meeting_id) == [("a", "2"), ("b", "1")]
    await store.remove_tags(m.meeting_id, ["a", "zzz"])
    assert await store.list_tags(m.meeting_id) == [("b", "1")]


async def test_transcription_state_round_trip_and_count(store: Store) -> None:
    m1, m2 = _meeting(1), _meeting(2)
    for m in (m1, m2):
        await store.create_meeting(m, [], [], max_active=10)
    s = TranscriptionState(
        m1.meeting_id,
        "started",
        {"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
        "us-east-1",
        1.0,
        2.0,
    )
    await store.save_transcription(s)
    await store.save_transcription(
        TranscriptionState(m2.meeting_id, "failed", {}, "us-east-1", 1.0, 2.0, 2.0, {"message": "m"})
    )
    assert await store.get_transcription(m1.meeting_id) == s
    assert await store.count_active_transcriptions(ACCOUNT) == 1
    stopped = TranscriptionState(m1.meeting_id, "stopped", s.configuration, "us-east-1", 1.0, 3.0, 3.0)
    await store.save_transcription(stopped)
    assert await store.get_transcription(m1.meeting_id) == stopped
    assert await store.count_active_transcriptions(ACCOUNT) == 0


async def test_reopen_keeps_data_and_migrations_are_idempotent(store_url: str) -> None:
    first = Store(store_url)
    await first.open()
    m = _meeting(7)
    await first.create_meeting(m, [_attendee(m.meeting_id, 1)], [], max_active=10)
    await first.close()
    second = Store(store_url)
    await second.open()
    try:
        assert await second.get_meeting(ACCOUNT, m.meeting_id) == m
        assert (await second.get_attendee_by_token(f"token-{m.meeting_id}-1")) is not None
    finally:
        await second.close()


async def test_transcripts_outlive_their_meeting_until_deleted_or_expired(store: Store) -> None:
    forever, timed, dropped = _meeting(1), _meeting(2), _meeting(3)
    for m in (forever, timed, dropped):
        await store.create_meeting(m, [], [], max_active=10)
        for n in range(2):
            assert await store.add_transcript_result(
                meeting_id=m.meeting_id, account_id=ACCOUNT, attendee_id="a", result_id=f"r{n}",
                start_time_ms=1000 * n, end_time_ms=1000 * n + 500, result={"n": n},
            )  # fmt: skip
    started = int(forever.created_at * 1000)
    assert await store.transcript(ACCOUNT, forever.meeting_id) == (started, [{"n": 0}, {"n": 1}])
    assert await store.transcript("999999999999", forever.meeting_id) is None
    now = time.time()
    await store.delete_meeting(ACCOUNT, forever.meeting_id, keep_transcript=True)
    await store.delete_meeting(
        ACCOUNT, timed.meeting_id, keep_transcript=True, transcript_expires_at=now + 60
    )
    await store.delete_meeting(ACCOUNT, dropped.meeting_id)
    assert await store.transcript(ACCOUNT, dropped.meeting_id) is None
    assert await store.transcript(ACCOUNT, forever.meeting_id) == (started, [{"n": 0}, {"n": 1}])
    listed = {t.meeting_id: t for t in await store.list_transcripts(ACCOUNT, limit=10)}
    assert set(listed) == {forever.meeting_id, timed.meeting_id}
    assert listed[forever.meeting_id].result_count == 2
    assert listed[forever.meeting_id].ended_at is not None
    assert listed[forever.meeting_id].expires_at is None
    assert listed[timed.meeting_id].expires_at == now + 60
    assert await store.list_transcripts("999999999999", limit=10) == []
    assert await store.purge_expired_transcripts(now + 30) == 0
    assert await store.purge_expired_transcripts(now + 61) == 1
    assert await store.transcript(ACCOUNT, timed.meeting_id) is None
    # A final that arrives after the end joins a kept transcript; one whose transcript went is not stored.
    assert await store.add_transcript_result(
        meeting_id=forever.meeting_id, account_id=ACCOUNT, attendee_id="a", result_id="late",
        start_time_ms=5000, end_time_ms=5500, result={"n": "late"},
    )  # fmt: skip
    assert not await store.add_transcript_result(
        meeting_id=dropped.meeting_id, account_id=ACCOUNT, attendee_id="a", result_id="late",
        start_time_ms=5000, end_time_ms=5500, result={"n": "late"},
    )  # fmt: skip
    assert await store.transcript(ACCOUNT, dropped.meeting_id) is None
    assert not await store.delete_transcript("999999999999", forever.meeting_id)
    assert await store.delete_transcript(ACCOUNT, forever.meeting_id)
    assert await store.transcript(ACCOUNT, forever.meeting_id) is None
    assert not await store.delete_transcript(ACCOUNT, forever.meeting_id)


async def test_a_meeting_ended_while_transcribing_keeps_a_transcript_for_its_late_finals(
    store: Store,
) -> None:
    m = _meeting(4)
    await store.create_meeting(m, [], [], max_active=10)
    state = TranscriptionState(m.meeting_id, "started", {}, "us-east-1", 1.0, 1.0)
    await store.save_transcription(state)
    await store.delete_meeting(ACCOUNT, m.meeting_id, keep_transcript=True)
    assert await store.add_transcript_result(
        meeting_id=m.meeting_id, account_id=ACCOUNT, attendee_id="a", result_id="r",
        start_time_ms=0, end_time_ms=500, result={"n": 0},
    )  # fmt: skip
    (listed,) = await store.list_transcripts(ACCOUNT, limit=10)
    assert (listed.meeting_id, listed.result_count) == (m.meeting_id, 1)


async def test_transcript_pages_are_newest_first_and_stable(store: Store) -> None:
    meetings = [_meeting(10 + i) for i in range(5)]
    for m in meetings:
        await store.create_meeting(m, [], [], max_active=10)
        await store.add_transcript_result(
            meeting_id=m.meeting_id, account_id=ACCOUNT, attendee_id="a", result_id="r",
            start_time_ms=0, end_time_ms=1, result={},
        )  # fmt: skip
    seen: list[str] = []
    after = None
    while True:
        page = await store.list_transcripts(ACCOUNT, limit=2, after=after)
        seen += [t.meeting_id for t in page]
        if len(page) < 2:
            break
        after = (page[-1].meeting_started_ms, page[-1].meeting_id)
    expected = sorted(meetings, key=lambda m: (int(m.created_at * 1000), m.meeting_id), reverse=True)
    assert seen == [m.meeting_id for m in expected]


async def test_presence_drives_auto_end(store: Store) -> None:
    m1, m2 = _meeting(1), _meeting(2)
    for m in (m1, m2):
        await store.create_meeting(m, [], [], max_active=10)
    assert await store.add_connection("c1", m1.meeting_id, "a", "node-1")
    assert not await store.add_connection("c2", "00000000-0000-4000-8000-999999999999", "a", "node-1")
    now = time.time()
    due = await store.meetings_to_end(idle_before=now + 1, created_before=now - 100, fresh_after=now - 90)
    assert [m.meeting_id for m in due] == [m2.meeting_id]
    assert await store.connection_nodes(m1.meeting_id, now - 90) == {"node-1"}
    await store.remove_connection("c1")
    due = await store.meetings_to_end(idle_before=now + 1, created_before=now - 100, fresh_after=now - 90)
    assert {m.meeting_id for m in due} == {m1.meeting_id, m2.meeting_id}
    due = await store.meetings_to_end(idle_before=now - 10, created_before=now - 100, fresh_after=now - 90)
    assert due == []
    due = await store.meetings_to_end(idle_before=now - 10, created_before=now + 1, fresh_after=now - 90)
    assert len(due) == 2


async def test_a_content_share_connection_is_recorded(store: Store) -> None:
    """A content share connects as ``<AttendeeId>#content`` (44 characters; D39), on either backend."""
    meeting = _meeting(1)
    await store.create_meeting(meeting, [], [], max_active=10)
    content = "11111111-2222-4333-8444-555555555555#content"
    assert await store.add_connection("c1", meeting.meeting_id, content, "node-1")
    assert await store.connected_attendees(meeting.meeting_id, time.time() - 60) == {content}
    assert await store.node_connections("node-1") == [(meeting.meeting_id, content)]


async def test_a_connection_remembers_its_clients_mute(store: Store) -> None:
    """Any node's console reads who muted themselves from here (the mute reaches only the meeting's host)."""
    meeting = _meeting(1)
    await store.create_meeting(meeting, [], [], max_active=10)
    for connection, attendee in (("c1", "a1"), ("c2", "a2")):
        assert await store.add_connection(connection, meeting.meeting_id, attendee, "node-1")
    fresh = time.time() - 60
    assert await store.muted_attendees(meeting.meeting_id, fresh) == set()
    await store.set_muted("c2", True)
    assert await store.muted_attendees(meeting.meeting_id, fresh) == {"a2"}
    await store.set_muted("c2", False)
    await store.set_muted("c1", True)
    assert await store.muted_attendees(meeting.meeting_id, fresh) == {"a1"}
    assert await store.muted_attendees(meeting.meeting_id, time.time() + 60) == set()  # stale connections
