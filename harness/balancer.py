"""A TCP load balancer for cluster tests: what an L4 balancer in front of the nodes does (HAProxy, nginx stream,
a cloud NLB), reduced to what the tests need. Each new connection goes to the next healthy backend in turn. A
backend is healthy while it answers ``GET /healthz`` within 3 s (checked every half second, as a balancer's
health check does; a busy machine's node may take a second); one that refuses a connection (its process is gone)
is skipped at once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from types import TracebackType


class Balancer:
    def __init__(self, port: int, backends: list[int], host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.backends = backends
        self.routed: list[int] = []  # the backend port each connection went to, in order
        self._next = 0
        self.healthy = set(backends)
        self._server: asyncio.Server | None = None
        self._checks: asyncio.Task[None] | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> Balancer:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self._checks = asyncio.get_running_loop().create_task(self._check_health())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        if self._checks is not None:
            self._checks.cancel()
        self._server.close()
        for task in list(self._pipes):
            task.cancel()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    async def _check_health(self) -> None:
        while True:
            for port in self.backends:
                if await self._answers(port):
                    self.healthy.add(port)
                else:
                    self.healthy.discard(port)
            await asyncio.sleep(0.5)

    async def _answers(self, port: int) -> bool:
        try:
            async with asyncio.timeout(3.0):
                reader, writer = await asyncio.open_connection(self.host, port)
                try:
                    writer.write(b"GET /healthz HTTP/1.1\r\nHost: balancer\r\nConnection: close\r\n\r\n")
                    return (await reader.readline()).startswith(b"HTTP/1.1 200")
                finally:
                    writer.close()
        except (OSError, TimeoutError):
            return False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        start = self._next
        self._next += 1
        turn = [self.backends[(start + i) % len(self.backends)] for i in range(len(self.backends))]
        # Healthy backends first; if none takes the connection, the others (a balancer that fails open).
        for port in sorted(turn, key=lambda p: p not in self.healthy):
            try:
                up_reader, up_writer = await asyncio.open_connection(self.host, port)
            except OSError:
                continue
            self.routed.append(port)
            for source, sink in ((reader, up_writer), (up_reader, writer)):
                task = asyncio.get_running_loop().create_task(self._pipe(source, sink))
                self._pipes.add(task)
                task.add_done_callback(self._pipes.discard)
            return
        writer.close()  # no backend up

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            # A backend that died mid-connection: the client sees the connection drop, as through a real balancer.
            with contextlib.suppress(OSError):
                sink.close()


@contextlib.contextmanager
def balancer_thread(port: int, backends: list[int]) -> Iterator[Balancer]:
    """A balancer on its own event loop in a thread, for synchronous tests (the browser ones)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    balancer = Balancer(port, backends)
    asyncio.run_coroutine_threadsafe(balancer.__aenter__(), loop).result(timeout=30)
    try:
        yield balancer
    finally:
        asyncio.run_coroutine_threadsafe(balancer.__aexit__(None, None, None), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
