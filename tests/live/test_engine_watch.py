"""Engine overload becomes `interrupted`, and recovery `resumed`, for meetings being transcribed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from parley.bus.local import LocalEventBus
from parley.engine.scheduler import Backlog
from parley.live.runtime import LiveRuntime, LiveSettings
from parley.store import TranscriptionState


@dataclass
class FakeScheduler:
    wait_s: float = 0.0

    def backlog(self) -> Backlog:
        return Backlog(0, 1, self.wait_s, 0.0, 1, 0, 0, 0, 0.0)


@dataclass
class FakeSpeech:
    scheduler: FakeScheduler = field(default_factory=FakeScheduler)
    preload: bool = False

    def loaded(self) -> Any:
        return SimpleNamespace(scheduler=self.scheduler)


async def test_overload_is_reported_once_and_recovery_after() -> None:
    bus = LocalEventBus()
    await bus.start()
    speech = FakeSpeech()
    runtime = LiveRuntime(store=None, bus=bus, meetings=None, speech=speech, settings=LiveSettings())  # type: ignore[arg-type]
    state = TranscriptionState(
        "m-1", "started", {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}, "us-east-1", 1.0, 1.0
    )
    hub = SimpleNamespace(
        transcribing=True,
        transcribers={"a": object()},
        state=state,
        channel="meeting:m-1",
        meeting=SimpleNamespace(meeting_id="m-1"),
    )
    idle = SimpleNamespace(
        transcribing=False,
        transcribers={},
        state=None,
        channel="meeting:m-2",
        meeting=SimpleNamespace(meeting_id="m-2"),
    )
    runtime.hubs = {"m-1": hub, "m-2": idle}  # type: ignore[dict-item]
    received: list[dict[str, Any]] = []
    async with bus.subscribe("meeting:m-1") as sub, bus.subscribe("meeting:m-2") as other:

        async def collect() -> None:
            async for message in sub:
                received.append(message)

        task = asyncio.create_task(collect())
        await runtime._watch_engine()  # healthy: nothing
        speech.scheduler.wait_s = 9.0
        await runtime._watch_engine()
        await runtime._watch_engine()  # still overloaded: reported once
        speech.scheduler.wait_s = 4.0
        await runtime._watch_engine()  # recovering but not yet below the resume threshold
        speech.scheduler.wait_s = 0.5
        await runtime._watch_engine()
        await asyncio.sleep(0.05)
        task.cancel()
        assert other.pending == 0
    # Bus messages carry events in their storage form (parley.transcripts.events.event_to_dict).
    statuses = [e["type"] for m in received if m["kind"] == "events" for e in m["events"]]
    assert statuses == ["interrupted", "resumed"]
    assert [m["status"] for m in received if m["kind"] == "engine"] == ["interrupted", "resumed"]
    interrupted = next(e for m in received if m["kind"] == "events" for e in m["events"])
    assert interrupted["message"]
    await bus.close()
