"""Room leases (store/rooms.py, D42) on both backends: one node hosts a meeting's Chime SDK room at a time, and
another takes it over only when the lease has lapsed, its holder is dead, or the holder is an earlier run of itself."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

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


FROZEN_HOLDER = """
import asyncio, sys, time
from sqlalchemy import select
from parley.store import Store, schema

async def main():
    store = Store(sys.argv[1])
    await store.open()
    def hold(conn):
        conn.execute(
            select(schema.rooms.c.node_id).where(schema.rooms.c.meeting_id == sys.argv[2]).with_for_update()
        ).first()
        print("locked", flush=True)
        time.sleep(3600)  # stopped inside the transaction, as SIGSTOP or a paused VM leaves it
    await store._write(hold)

asyncio.run(main())
"""


@pytest.mark.postgres
async def test_a_node_frozen_inside_a_transaction_does_not_hold_its_room_forever(pg_url: str) -> None:
    """A node that stops (SIGSTOP, a paused VM) in the middle of renewing its leases keeps the lease row locked;
    PostgreSQL never notices a stopped client, so without a limit every other node's claim of that meeting waits
    for the lock forever and the meeting can never move. parley's sessions carry an idle-in-transaction timeout:
    the server ends the stopped node's session, and the claim goes through."""
    store = Store(pg_url)
    await store.open()
    meeting = _meeting(1)
    holder: asyncio.subprocess.Process | None = None
    try:
        await store.create_meeting(meeting, [], [], max_active=10)
        await store.claim_room(meeting.meeting_id, *A, ttl_s=60)
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FROZEN_HOLDER, pg_url, meeting.meeting_id, stdout=asyncio.subprocess.PIPE
        )
        assert holder.stdout is not None
        assert await holder.stdout.readline() == b"locked\n"
        async with asyncio.timeout(60):
            lease = await store.claim_room(meeting.meeting_id, *B, ttl_s=10, dead={"node-a"})
        assert lease is not None
        assert (lease.node_id, lease.taken_from) == ("node-b", "node-a")
    finally:
        if holder is not None:
            holder.kill()
            await holder.wait()
        await store.close()
