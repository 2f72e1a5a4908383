"""An HTTPS server on 127.0.0.1:0 that speaks only HTTP/2 (ALPN h2), built on the h2 library
that httpx[http2] brings, with its own event loop in a daemon thread; and the few routes it
shares with the HTTP/3 server (tests/h3_server.py).

It counts connections, requests and the most streams open at once on one connection, so a test
can tell multiplexing (many streams, one connection) from many connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import trustme

GATHER_WAIT = 5.0  # seconds a /gather/N request waits for the other N-1 before it gives up


@dataclass
class Stats:
    connections: int = 0
    requests: int = 0
    peak_streams: int = 0  # the most requests open at once on one connection
    paths: list[str] = field(default_factory=list)


class Routes:
    """What both servers answer: `/ok`, `/bytes/N` (N bytes of b"x"), and `/gather/N`, which
    answers only once N /gather requests are open at the same time (504 after GATHER_WAIT):
    it succeeds only if the client really sends them side by side."""

    def __init__(self) -> None:
        self.stats = Stats()
        self._gathering = 0
        self._gathered: asyncio.Event | None = None

    async def respond(self, path: str) -> tuple[int, bytes]:
        self.stats.requests += 1
        self.stats.paths.append(path)
        parts = path.split("?")[0].strip("/").split("/")
        if parts == ["ok"]:
            return 200, b"ok"
        if len(parts) == 2 and parts[0] == "bytes" and parts[1].isdigit():
            return 200, b"x" * int(parts[1])
        if len(parts) == 2 and parts[0] == "gather" and parts[1].isdigit():
            return await self._gather(int(parts[1]))
        return 404, b"not found"

    async def _gather(self, count: int) -> tuple[int, bytes]:
        if self._gathered is None or self._gathered.is_set():
            self._gathered, self._gathering = asyncio.Event(), 0
        gathered = self._gathered
        self._gathering += 1
        if self._gathering >= count:
            gathered.set()
        try:
            await asyncio.wait_for(gathered.wait(), GATHER_WAIT)
        except TimeoutError:
            return 504, b"not gathered"
        return 200, b"gathered"


def server_certificate(ca: trustme.CA, alpn: list[str]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    context.set_alpn_protocols(alpn)
    return context


class LoopThread:
    """A server's event loop in a daemon thread: start() returns once it listens, stop() ends
    it. A subclass's serve() binds, sets self.port, and returns an awaitable closer."""

    def __init__(self) -> None:
        self.routes = Routes()
        self.port = 0
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def stats(self) -> Stats:
        return self.routes.stats

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def serve(self) -> Callable[[], Awaitable[None]]:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30) or self._error is not None:
            raise RuntimeError(f"{type(self).__name__} did not start") from self._error

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        close = await self.serve()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        await self._stopping.wait()
        await close()


class H2Server(LoopThread):
    """HTTP/2 over TLS only: a client that does not offer h2 fails its handshake."""

    def __init__(self, ca: trustme.CA) -> None:
        super().__init__()
        self._context = server_certificate(ca, ["h2"])
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self) -> Callable[[], Awaitable[None]]:
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0, ssl=self._context)
        self.port = server.sockets[0].getsockname()[1]

        async def close() -> None:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        return close

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.connections += 1
        try:
            await _H2Connection(self.routes, reader, writer).run()
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went, or stop() ends the connection
        finally:
            self._tasks.discard(task)
            writer.close()


class _H2Connection:
    def __init__(
        self, routes: Routes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self._h2 = h2.connection.H2Connection(config=config)
        self._routes = routes
        self._reader, self._writer = reader, writer
        self._paths: dict[int, str] = {}
        self._open = 0
        self._window = asyncio.Event()  # set whenever the client grants more flow-control window
        self._streams: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        self._h2.initiate_connection()
        self._flush()
        try:
            while data := await self._reader.read(65536):
                for event in self._h2.receive_data(data):
                    self._on(event)
                self._flush()
        finally:
            for task in self._streams:
                task.cancel()

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
            headers = dict(event.headers or [])
            self._paths[event.stream_id] = str(headers.get(":path", "/"))
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id in self._paths:
            task = asyncio.create_task(self._answer(event.stream_id))
            self._streams.add(task)
            task.add_done_callback(self._streams.discard)
        elif isinstance(event, h2.events.WindowUpdated):
            self._window.set()
        elif isinstance(event, h2.events.StreamReset) and event.stream_id in self._paths:
            self._paths.pop(event.stream_id)

    async def _answer(self, stream_id: int) -> None:
        self._open += 1
        stats = self._routes.stats
        stats.peak_streams = max(stats.peak_streams, self._open)
        try:
            status, body = await self._routes.respond(self._paths[stream_id])
        finally:
            self._open -= 1
        headers = [(":status", str(status)), ("content-type", "text/plain")]
        headers.append(("content-length", str(len(body))))
        self._h2.send_headers(stream_id, headers, end_stream=not body)
        while body:
            window = self._h2.local_flow_control_window(stream_id)
            window = min(window, self._h2.max_outbound_frame_size)
            if window <= 0:
                self._window.clear()
                self._flush()
                await self._window.wait()
                continue
            chunk, body = body[:window], body[window:]
            self._h2.send_data(stream_id, chunk, end_stream=not body)
        self._paths.pop(stream_id, None)
        self._flush()

    def _flush(self) -> None:
        if data := self._h2.data_to_send():
            self._writer.write(data)
