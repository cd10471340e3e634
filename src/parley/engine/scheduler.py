"""Fair, batching worker-thread scheduler in front of one shared engine.

Policy (why, in brief):
- Inference runs on worker threads, never on the asyncio loop; results come back as asyncio futures.
- Finals are never dropped and go first: a final is what clients keep and what gets stored.
- Each stream has at most one *pending* partial. A newer partial request replaces the pending one (the old is
  answered ``None`` and counted as skipped), and a stream's pending partial is dropped when the stream submits a
  final. The request for a partial is *built when the worker picks it up* (``build`` callback), so a partial
  that waited in the queue decodes all the audio that arrived meanwhile instead of stale audio; under overload
  partials simply get rarer, never late-and-stale.
- Fairness: pending partials are served oldest-request-first, so every stream gets a turn before any stream
  gets a second one; finals are served oldest-first across streams.
- Batching: up to ``max_batch`` requests of a kind are decoded in one engine call. Default: batches of 8 with
  one worker (GPU: a batch costs little more than one request); no batching with several CPU workers, where
  parallel single requests kept both cores busy and measured better (see ``__init__``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from parley.engine.base import DecodeRequest, Engine, Hypothesis

log = logging.getLogger(__name__)

Builder = Callable[[], DecodeRequest | None]


@dataclass(slots=True)
class Backlog:
    pending_partials: int
    pending_finals: int
    oldest_final_wait_s: float
    oldest_partial_wait_s: float
    in_flight: int
    partials_done: int
    partials_skipped: int
    finals_done: int
    busy_s: float  # engine time spent so far (sum over workers)


@dataclass(slots=True)
class _Job:
    stream: Hashable
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Hypothesis | None]
    submitted: float
    build: Builder | None = None
    request: DecodeRequest | None = None


def _resolve(job: _Job, value: Hypothesis | None = None, error: BaseException | None = None) -> None:
    def deliver() -> None:
        if job.future.done():
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(value)

    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
        job.loop.call_soon_threadsafe(deliver)


class Scheduler:
    """Owns the worker threads; construct once per engine, ``close()`` on shutdown."""

    def __init__(
        self,
        engine: Engine,
        *,
        workers: int | None = None,
        max_batch: int | None = None,
        on_decode: Callable[[str, float], None] | None = None,
    ) -> None:
        """``on_decode(kind, seconds)`` is called on the worker thread after each batch ("partial"/"final"):
        the metrics hook, kept a plain callable so the engine layer imports nothing above it."""
        # One worker per concurrent engine call the engine supports (WhisperEngine.num_workers).
        workers = workers or int(getattr(engine, "num_workers", 1))
        # Measured on 2 CPU cores with 2 single-threaded workers: batches of up to 8 made p90 commit latency
        # *worse* at 4 streams (2.6-3.2 s vs 1.8-2.0 s unbatched): one worker took every pending partial, padded
        # them to the longest window, and left the other core idle. Batch only when there is one worker (GPU).
        if max_batch is None:
            max_batch = 1 if workers > 1 else 8
        self.engine = engine
        self._on_decode = on_decode
        self.max_batch = max_batch
        self._workers = workers
        self._cond = threading.Condition()
        self._partials: dict[Hashable, _Job] = {}  # insertion order = request order
        self._finals: deque[_Job] = deque()
        self._closed = False
        self._in_flight = 0
        self._partials_done = 0
        self._partials_skipped = 0
        self._finals_done = 0
        self._busy_s = 0.0
        self._threads = [
            threading.Thread(target=self._run, name=f"parley-asr-{i}", daemon=True) for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    # -- submission (event loop side) ----------------------------------------------------------------------------
    def submit_partial(self, stream: Hashable, build: Builder) -> asyncio.Future[Hypothesis | None]:
        """Queue a partial decode; the future yields None if it was skipped (superseded or nothing to do)."""
        loop = asyncio.get_running_loop()
        job = _Job(stream, loop, loop.create_future(), time.monotonic(), build=build)
        with self._cond:
            self._check_open()
            old = self._partials.pop(stream, None)
            if old is not None:
                self._partials_skipped += 1
                _resolve(old, None)
            self._partials[stream] = job
            self._cond.notify()
        return job.future

    def submit_final(self, stream: Hashable, request: DecodeRequest) -> asyncio.Future[Hypothesis | None]:
        loop = asyncio.get_running_loop()
        request.final = True
        job = _Job(stream, loop, loop.create_future(), time.monotonic(), request=request)
        with self._cond:
            self._check_open()
            old = self._partials.pop(stream, None)
            if old is not None:
                self._partials_skipped += 1
                _resolve(old, None)
            self._finals.append(job)
            self._cond.notify()
        return job.future

    def cancel_partial(self, stream: Hashable) -> None:
        with self._cond:
            old = self._partials.pop(stream, None)
            if old is not None:
                self._partials_skipped += 1
                _resolve(old, None)

    def backlog(self) -> Backlog:
        now = time.monotonic()
        with self._cond:
            return Backlog(
                pending_partials=len(self._partials),
                pending_finals=len(self._finals),
                oldest_final_wait_s=now - self._finals[0].submitted if self._finals else 0.0,
                oldest_partial_wait_s=(
                    now - min(j.submitted for j in self._partials.values()) if self._partials else 0.0
                ),
                in_flight=self._in_flight,
                partials_done=self._partials_done,
                partials_skipped=self._partials_skipped,
                finals_done=self._finals_done,
                busy_s=self._busy_s,
            )

    def pressure(self) -> float:
        """Queued plus running jobs per worker: < 1 means a new request would start at once.

        Cheap (no allocation, one lock) because every stream asks on every audio frame to pace its partials.
        """
        with self._cond:
            return (len(self._partials) + len(self._finals) + self._in_flight) / self._workers

    def close(self) -> None:
        """Finish queued finals, skip queued partials, stop the workers."""
        with self._cond:
            self._closed = True
            for job in self._partials.values():
                _resolve(job, None)
            self._partials.clear()
            self._cond.notify_all()
        for t in self._threads:
            t.join()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("scheduler is closed")

    # -- workers -----------------------------------------------------------------------------------------------
    def _take(self) -> tuple[list[_Job], bool] | None:
        with self._cond:
            while not self._finals and not self._partials:
                if self._closed:
                    return None
                self._cond.wait()
            if self._finals:
                batch = [self._finals.popleft() for _ in range(min(self.max_batch, len(self._finals)))]
                final = True
            else:
                batch = []
                for stream in list(self._partials)[: self.max_batch]:
                    batch.append(self._partials.pop(stream))
                final = False
            self._in_flight += len(batch)
            return batch, final

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            batch, final = taken
            jobs: list[_Job] = []
            requests: list[DecodeRequest] = []
            for job in batch:
                try:
                    req = job.request if final else job.build()  # type: ignore[misc]
                except Exception as exc:  # a broken builder fails its own stream only
                    _resolve(job, error=exc)
                    continue
                if req is None:
                    _resolve(job, None)
                    continue
                jobs.append(job)
                requests.append(req)
            started = time.monotonic()
            try:
                results = self.engine.decode_batch(requests) if requests else []
                error: BaseException | None = None
            except Exception as exc:
                log.exception("engine failed on a batch of %d", len(requests))
                results, error = [], exc
            elapsed = time.monotonic() - started
            if self._on_decode is not None and jobs:
                self._on_decode("final" if final else "partial", elapsed)
            for k, job in enumerate(jobs):
                if error is not None:
                    _resolve(job, error=error)
                else:
                    _resolve(job, results[k])
            with self._cond:
                self._in_flight -= len(batch)
                self._busy_s += elapsed
                if final:
                    self._finals_done += len(jobs)
                else:
                    self._partials_done += len(jobs)
                    self._partials_skipped += len(batch) - len(jobs)
