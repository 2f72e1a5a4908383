"""A small forward HTTP proxy for fetchcli's tests, on raw asyncio in a daemon thread (so
in-process runs and subprocesses alike can reach it), listening on 127.0.0.1:0.

- A request in absolute form (`GET http://host:port/path HTTP/1.1`) is forwarded to its origin
  in origin form, over a connection of its own (so every request through the proxy is seen),
  and the answer relayed whole; the client's connection is kept alive for its next request.
- `CONNECT host:port` opens a tunnel: `200 Connection established`, then bytes both ways.
- Given `credentials`, a request without the matching `Proxy-Authorization: Basic` is answered
  `407 Proxy Authentication Required`.
- Given an `ssl_context`, it is an https proxy: TLS to the proxy itself.
- `hosts` maps names to addresses, so a test's URLs can name hosts that do not resolve: only the
  proxy needs them, which shows that fetchcli did not look them up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_DROPPED = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}


@dataclass(frozen=True)
class Seen:
    """One request the proxy received."""

    method: str
    target: str  # the absolute URL, or host:port for a CONNECT
    authorization: str | None  # Proxy-Authorization, as sent


class ProxyServer:
    """See the module docstring."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        hosts: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.ssl_context = ssl_context
        self.expected = None
        if credentials is not None:
            token = base64.b64encode(":".join(credentials).encode()).decode()
            self.expected = f"Basic {token}"
        self.hosts = dict(hosts or {})
        self.seen: list[Seen] = []
        self.open = 0  # connections open now
        self.peak = 0  # most connections open at once
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def targets(self) -> list[str]:
        """What each request asked for, in arrival order: `GET http://…`, `CONNECT host:port`."""
        with self._lock:
            return [f"{seen.method} {seen.target}" for seen in self.seen]

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self.peak = self.open

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ProxyServer", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("ProxyServer did not start")

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> ProxyServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(lambda loop, context: None)  # reset peers: expected
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0, ssl=self.ssl_context)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in list(self._writers):
            writer.transport.abort()
        await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        with self._lock:
            self.open += 1
            self.peak = max(self.peak, self.open)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # only stop() cancels
        finally:
            await _close(writer)
            with self._lock:
                self.open -= 1
            self._writers.discard(writer)
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await self._serve_one(reader, writer):
            pass

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """One request; whether the client's connection stays open for another."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client is done
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = [
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        ]
        authorization = _header(headers, "proxy-authorization")
        with self._lock:
            self.seen.append(Seen(method, target, authorization))
        if self.expected is not None and authorization != self.expected:
            await _answer(writer, "407 Proxy Authentication Required", 'Basic realm="tests"')
            return False
        if method == "CONNECT":
            await self._tunnel(target, reader, writer)
            return False
        return await self._forward(method, target, headers, reader, writer)

    async def _tunnel(
        self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        host, _, port = target.rpartition(":")
        try:
            up_reader, up_writer = await self._open(host.strip("[]"), int(port))
        except OSError:
            await _answer(writer, "502 Bad Gateway")
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            await _close(up_writer)

    async def _forward(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            await _answer(writer, "400 Bad Request")
            return False
        body = await reader.readexactly(int(_header(headers, "content-length") or 0))
        try:
            up_reader, up_writer = await self._open(parts.hostname, parts.port or 80)
        except OSError:
            await _answer(writer, "502 Bad Gateway")
            return False
        try:
            path = parts.path or "/"
            kept = [(n, v) for n, v in headers if n.lower() not in _DROPPED]
            request = [f"{method} {path}{'?' + parts.query if parts.query else ''} HTTP/1.1"]
            request += [f"{name}: {value}" for name, value in kept] + ["Connection: close"]
            up_writer.write(("\r\n".join(request) + "\r\n\r\n").encode("latin-1") + body)
            answer = (await up_reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            rest = await up_reader.read()  # the origin closes after its answer
        finally:
            await _close(up_writer)
        status, lines = answer[0], [line for line in answer[1:] if line]
        answered = [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines)]
        answered = [(n, v) for n, v in answered if n.lower() not in _DROPPED]
        framed = _header(answered, "content-length") or _header(answered, "transfer-encoding")
        if framed is None:  # its body ended with the connection: say where it ends
            answered.append(("Content-Length", str(len(rest))))
        keep = (_header(headers, "connection") or "").lower() != "close"
        answered.append(("Connection", "keep-alive" if keep else "close"))
        out = "\r\n".join([status, *(f"{n}: {v}" for n, v in answered)]) + "\r\n\r\n"
        writer.write(out.encode("latin-1") + rest)
        await writer.drain()
        return keep

    async def _open(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.hosts.get(host, host), port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until the reader's end, then end the writer's side too."""
    try:
        while data := await reader.read(64 * 1024):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close after what was written has gone out (an abort would drop it)."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 5)
    except (OSError, TimeoutError, asyncio.CancelledError):
        writer.transport.abort()


async def _answer(writer: asyncio.StreamWriter, status: str, authenticate: str = "") -> None:
    extra = f"Proxy-Authenticate: {authenticate}\r\n" if authenticate else ""
    writer.write(
        f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)
