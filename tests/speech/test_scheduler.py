"""Scheduler policy with a fake engine: worker threads, fairness, stale partials, finals never dropped."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from parley.engine.base import DecodeRequest
from parley.engine.fake import FakeEngine
from parley.engine.scheduler import Scheduler


def req(seconds: float = 1.0, **kw) -> DecodeRequest:
    return DecodeRequest(audio=np.zeros(int(16000 * seconds), dtype=np.float32), **kw)


@pytest.fixture
def gated() -> FakeEngine:
    return FakeEngine(script=[("hello", 0.1, 0.4)], gate=threading.Event())


async def wait_for_calls(engine: FakeEngine, n: int) -> None:
    for _ in range(500):
        if len(engine.calls) >= n:
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"engine saw {len(engine.calls)} calls, expected {n}")


async def test_inference_runs_on_worker_threads_not_the_loop() -> None:
    engine = FakeEngine(script=[("hello", 0.1, 0.4)])
    scheduler = Scheduler(engine)
    try:
        hyp = await scheduler.submit_final("a", req())
        assert hyp is not None
        assert [w.text for w in hyp.words] == ["hello"]
        assert engine.calls[0].thread.startswith("parley-asr")
        assert engine.calls[0].thread != threading.current_thread().name
    finally:
        scheduler.close()


async def test_finals_are_never_dropped_under_overload(gated: FakeEngine) -> None:
    scheduler = Scheduler(gated, max_batch=4)
    try:
        blocker = scheduler.submit_final("x", req())
        await wait_for_calls(gated, 1)  # the worker is now stuck in the engine
        finals = [scheduler.submit_final(f"s{i % 5}", req()) for i in range(20)]
        partials = [scheduler.submit_partial(f"s{i % 5}", lambda: req()) for i in range(50)]
        backlog = scheduler.backlog()
        assert backlog.pending_finals == 20
        assert backlog.pending_partials <= 5  # one slot per stream
        assert backlog.in_flight == 1
        gated.gate.set()
        results = await asyncio.gather(blocker, *finals)
        assert all(r is not None for r in results)
        # Partials superseded by newer ones (or by a final of their stream) were skipped, not run.
        skipped = [p for p in await asyncio.gather(*partials) if p is None]
        assert len(skipped) >= 45
        final_batches = [c for c in gated.calls if all(r.final for r in c.requests)]
        assert sum(len(c.requests) for c in final_batches) == 21
        assert max(len(c.requests) for c in final_batches) == 4  # batched
        assert scheduler.backlog().finals_done == 21
    finally:
        gated.gate.set()
        scheduler.close()


async def test_newer_partial_replaces_pending_one(gated: FakeEngine) -> None:
    scheduler = Scheduler(gated)
    try:
        scheduler.submit_final("block", req())
        await wait_for_calls(gated, 1)
        first = scheduler.submit_partial("a", lambda: req(1.0))
        second = scheduler.submit_partial("a", lambda: req(2.0))
        assert await first is None
        assert scheduler.backlog().partials_skipped == 1
        gated.gate.set()
        hyp = await second
        assert hyp is not None
        assert hyp.audio_s == pytest.approx(2.0)
    finally:
        gated.gate.set()
        scheduler.close()


async def test_final_supersedes_pending_partial_of_its_stream(gated: FakeEngine) -> None:
    scheduler = Scheduler(gated)
    try:
        scheduler.submit_final("block", req())
        await wait_for_calls(gated, 1)
        partial = scheduler.submit_partial("a", lambda: req())
        other = scheduler.submit_partial("b", lambda: req())
        final = scheduler.submit_final("a", req())
        assert await partial is None
        gated.gate.set()
        assert await final is not None
        assert await other is not None  # other streams' partials are unaffected
    finally:
        gated.gate.set()
        scheduler.close()


async def test_partials_are_served_fairly_oldest_request_first(gated: FakeEngine) -> None:
    scheduler = Scheduler(gated, max_batch=1)
    served: list[str] = []

    def builder(name: str):
        def build() -> DecodeRequest:
            served.append(name)
            return req()

        return build

    try:
        scheduler.submit_final("block", req())
        await wait_for_calls(gated, 1)
        futures = [scheduler.submit_partial(n, builder(n)) for n in ("a", "b", "c")]
        futures.append(scheduler.submit_partial("a", builder("a")))  # a asks again: goes to the back
        gated.gate.set()
        await asyncio.gather(*futures)
        assert served == ["b", "c", "a"]
    finally:
        gated.gate.set()
        scheduler.close()


async def test_partial_request_is_built_when_picked_with_the_latest_audio(gated: FakeEngine) -> None:
    scheduler = Scheduler(gated)
    arrived = {"seconds": 1.0}
    try:
        scheduler.submit_final("block", req())
        await wait_for_calls(gated, 1)
        future = scheduler.submit_partial("a", lambda: req(arrived["seconds"]))
        arrived["seconds"] = 3.0  # audio kept arriving while the partial waited
        gated.gate.set()
        hyp = await future
        assert hyp is not None
        assert hyp.audio_s == pytest.approx(3.0)
    finally:
        gated.gate.set()
        scheduler.close()


async def test_pending_partials_of_many_streams_are_batched(gated: FakeEngine) -> None:
    scheduler = Scheduler(gated, max_batch=8)
    try:
        scheduler.submit_final("block", req())
        await wait_for_calls(gated, 1)
        futures = [scheduler.submit_partial(f"s{i}", lambda: req()) for i in range(6)]
        gated.gate.set()
        await asyncio.gather(*futures)
        assert [len(c.requests) for c in gated.calls] == [1, 6]
    finally:
        gated.gate.set()
        scheduler.close()


async def test_engine_errors_reach_the_caller_and_the_worker_survives() -> None:
    class Broken(FakeEngine):
        def decode_batch(self, requests):
            if len(self.calls) == 0:
                self.calls.append(None)  # type: ignore[arg-type]
                raise RuntimeError("boom")
            return super().decode_batch(requests)

    scheduler = Scheduler(Broken(script=[("hi", 0.0, 0.2)]))
    try:
        with pytest.raises(RuntimeError, match="boom"):
            await scheduler.submit_final("a", req())
        assert await scheduler.submit_final("a", req()) is not None
    finally:
        scheduler.close()


async def test_closed_scheduler_refuses_work() -> None:
    scheduler = Scheduler(FakeEngine())
    scheduler.close()
    with pytest.raises(RuntimeError, match="closed"):
        scheduler.submit_final("a", req())


async def test_pressure_counts_queued_and_running_jobs_per_worker(gated: FakeEngine) -> None:
    scheduler = Scheduler(gated, workers=2)
    try:
        assert scheduler.pressure() == 0.0
        blocker = scheduler.submit_final("x", req())
        await wait_for_calls(gated, 1)
        assert scheduler.pressure() == pytest.approx(0.5)  # one of two workers busy: a request starts at once
        scheduler.submit_partial("a", lambda: req())
        scheduler.submit_partial("b", lambda: req())
        await wait_for_calls(gated, 2)  # the second worker took one partial; one still queued
        assert scheduler.pressure() == pytest.approx(1.5)
        gated.gate.set()
        await blocker
    finally:
        gated.gate.set()
        scheduler.close()
