"""Room leases (store/rooms.py, D42) on both backends: one node hosts a meeting's Chime SDK room at a time, and
another takes it over only when the lease has lapsed, its holder is dead, or the holder is an earlier run of itself."""

from __future__ import annotations

import asyncio
import time

from parley.store import Store
from tests.store.test_store import _meeting

A, B = ("node-a", "http://10.0.0.1:8000"), ("node-b", "http://10.0.0.2:8000")


async def test_the_first_claim_hosts_and_the_others_are_told_where(store: Store) -> None:
    meeting = _meeting(1)
    await store.create_meeting(meeting, [], [], max_active=10)
    mine = await store.claim_room(meeting.meeting_id, *A, ttl_s=10)
    assert mine is not None
    assert (mine.node_id, mine.taken_from) == ("node-a", None)
    theirs = await store.claim_room(meeting.meeting_id, *B, ttl_s=10)
    assert theirs is not None
    assert (theirs.node_id, theirs.node_url) == A  # B is told where the room is, and does not host it
    again = await store.claim_room(meeting.meeting_id, *A, ttl_s=10)
    assert again is not None
    assert (again.node_id, again.taken_from) == ("node-a", None)


async def test_a_lapsed_or_dead_holders_room_is_taken_over(store: Store) -> None:
    lapsing, dying = _meeting(1), _meeting(2)
    for meeting in (lapsing, dying):
        await store.create_meeting(meeting, [], [], max_active=10)
    await store.claim_room(lapsing.meeting_id, *A, ttl_s=0.2)
    await store.claim_room(dying.meeting_id, *A, ttl_s=60)
    await asyncio.sleep(0.3)
    lapsed = await store.claim_room(lapsing.meeting_id, *B, ttl_s=10)
    assert lapsed is not None
    assert (lapsed.node_id, lapsed.taken_from) == ("node-b", "node-a")
    alive = await store.claim_room(dying.meeting_id, *B, ttl_s=10)
    assert alive is not None
    assert alive.node_id == "node-a"
    dead = await store.claim_room(dying.meeting_id, *B, ttl_s=10, dead={"node-a"})
    assert dead is not None
    assert (dead.node_id, dead.taken_from) == ("node-b", "node-a")


async def test_a_restarted_node_at_the_same_url_takes_its_rooms_back(store: Store) -> None:
    meeting = _meeting(1)
    await store.create_meeting(meeting, [], [], max_active=10)
    await store.claim_room(meeting.meeting_id, "node-a-before", A[1], ttl_s=60)
    lease = await store.claim_room(meeting.meeting_id, *A, ttl_s=10)
    assert lease is not None
    assert (lease.node_id, lease.taken_from) == ("node-a", "node-a-before")


async def test_renewal_keeps_a_lease_and_reports_one_taken_meanwhile(store: Store) -> None:
    kept, taken, deleted = _meeting(1), _meeting(2), _meeting(3)
    for meeting in (kept, taken, deleted):
        await store.create_meeting(meeting, [], [], max_active=10)
        await store.claim_room(meeting.meeting_id, *A, ttl_s=0.2)
    await asyncio.sleep(0.3)  # all three lapse; B takes one over, and one meeting is deleted
    await store.claim_room(taken.meeting_id, *B, ttl_s=60)
    await store.delete_meeting(deleted.account_id, deleted.meeting_id)
    ids = [m.meeting_id for m in (kept, taken, deleted)]
    assert await store.renew_rooms(ids, *A, ttl_s=60) == {taken.meeting_id}
    lease = await store.claim_room(kept.meeting_id, *B, ttl_s=10)
    assert lease is not None
    assert lease.node_id == "node-a"  # renewed (re-taken after lapsing: nobody else had it)
    assert lease.expires_at > time.time() + 30


async def test_a_released_room_is_hosted_by_the_next_node_at_once(store: Store) -> None:
    meeting = _meeting(1)
    await store.create_meeting(meeting, [], [], max_active=10)
    await store.claim_room(meeting.meeting_id, *A, ttl_s=60)
    await store.release_room(meeting.meeting_id, "node-b")  # not B's to release
    lease = await store.claim_room(meeting.meeting_id, *B, ttl_s=10)
    assert lease is not None
    assert lease.node_id == "node-a"
    await store.release_rooms("node-a")
    lease = await store.claim_room(meeting.meeting_id, *B, ttl_s=10)
    assert lease is not None
    assert (lease.node_id, lease.taken_from) == ("node-b", None)


async def test_no_lease_for_a_meeting_that_does_not_exist(store: Store) -> None:
    assert await store.claim_room(_meeting(9).meeting_id, *A, ttl_s=10) is None
