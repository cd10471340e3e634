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
    assert await store.delete_meeting(ACCOUNT, m.meeting_id)
    assert await store.get_meeting(ACCOUNT, m.meeting_id) is None
    assert await store.get_attendee_by_token(f"token-{m.meeting_id}-1") is None
    assert await store.list_tags(m.meeting_id) == []
    assert await store.get_transcription(m.meeting_id) is None
    assert not await store.delete_meeting(ACCOUNT, m.meeting_id)


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
