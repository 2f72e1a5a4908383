"""Raw-asyncio HTTP/1.1 server for fetchcli's tests.

The server runs its own event loop in a daemon thread, so synchronous tests and
subprocess tests (the CLI in another process) can both reach it.  It speaks HTTP by
hand on asyncio streams, which lets some routes misbehave below HTTP: TCP resets,
truncated headers and bodies, broken chunking, hostile reason phrases.

Run ``python tests/server.py`` to serve until Ctrl-C (it prints its URL first).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import functools
import gzip
import http
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import parse_qs, unquote, urlsplit

HEADER_LIMIT = 64 * 1024
CHUNK = 64 * 1024
MIB = 1024 * 1024
TEXT = "text/plain; charset=utf-8"
COMPRESSED_TEXT = ("compressed hello " * 100).encode()
GZIP_BODY = gzip.compress(COMPRESSED_TEXT)
DEFLATE_BODY = zlib.compress(COMPRESSED_TEXT)
_raw = zlib.compressobj(wbits=-15)
DEFLATE_RAW_BODY = _raw.compress(COMPRESSED_TEXT) + _raw.flush()
ANSI_REASON = "OK \x1b[31mRED\x1b[0m [bold]markup[/bold]"
ANSI_HEADER = "\x1b]0;pwned\x07value"
ANSI_BODY = (
    b"safe \x1b[2J\x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 c1\xc2\x9b31m"
    b" [bold red]markup[/bold red] [link=file:///etc/passwd]x[/link] end"
)
HEALTH_BODY = b'{"status": "UP", "build": {"version": "1.4.2"}, "items": [{"id": 1}, {"id": 2}]}'
DOWN_BODY = b'{"status": "DOWN"}'
PAGE_BODY = (
    b"<!doctype html><html><head><meta charset=utf-8>"
    b"<title>\n  Caf\xc3\xa9 &amp; Bar \x1b[31mred\x1b[0m [b]x[/b]</title></head>"
    b"<body><h1>Menu</h1><p>version 2.7.1</p></body></html>"
)
PNG_BODY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


class _CloseConnection(Exception):
    """A route ended or deliberately broke the connection; stop serving it."""


class _NotFound(Exception):
    """The path matched a route prefix but its argument is unusable."""


@dataclass
class ServerStats:
    """Counters kept by the server; read them once the requests you care about finished."""

    requests: int = 0
    connections: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    paths: collections.Counter[str] = field(default_factory=collections.Counter)
    arrivals: list[float] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    body_bytes: int = 0  # sent by /ranged: how much of its files went out


@dataclass
class Exchange:
    """One parsed request plus the means to answer it."""

    server: TestServer
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    keep_alive: bool
    arg: str = ""
    body: bytes = b""

    def param(self, name: str, default: str) -> str:
        values = parse_qs(self.query).get(name)
        return values[0] if values else default

    def int_param(self, name: str, default: int) -> int:
        return _to_int(self.param(name, str(default)))

    def int_arg(self) -> int:
        return _to_int(self.arg)

    async def start(
        self, status: int, headers: Iterable[tuple[str, str]] = (), reason: str | None = None
    ) -> None:
        """Write the status line and headers, adding ``Connection: close`` when closing."""
        lines = [f"HTTP/1.1 {status} {_phrase(status) if reason is None else reason}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if not self.keep_alive:
            lines.append("Connection: close")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self.writer.drain()

    async def send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = TEXT,
        headers: Iterable[tuple[str, str]] = (),
        reason: str | None = None,
    ) -> None:
        """Send a complete response with a correct Content-Length (no body for HEAD)."""
        head = [("Content-Type", content_type)] if content_type else []
        if _has_body(status):
            head.append(("Content-Length", str(len(body))))
        await self.start(status, [*head, *headers], reason)
        if body and _has_body(status) and self.method != "HEAD":
            self.writer.write(body)
            await self.writer.drain()


def _to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _NotFound(text) from None


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _has_body(status: int) -> bool:
    return not (100 <= status < 200 or status in (204, 304))


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


@functools.lru_cache(maxsize=4)
def _gzip_bomb(mb: int) -> bytes:
    """Gzip ``mb`` MiB of ``b"A"`` at level 9, one MiB at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"A" * MIB
    parts = [compressor.compress(block) for _ in range(mb)]
    return b"".join(parts) + compressor.flush()


# --- routes -------------------------------------------------------------------------

Handler = Callable[["Exchange"], Awaitable[None]]


def _fixed(
    status: int,
    body: bytes = b"",
    content_type: str | None = TEXT,
    headers: Iterable[tuple[str, str]] = (),
    reason: str | None = None,
) -> Handler:
    """A route that always sends the same complete response."""
    headers = list(headers)

    async def route(ex: Exchange) -> None:
        await ex.send(status, body, content_type, headers, reason)

    return route


def _raw_then_close(data: bytes) -> Handler:
    """A route that writes ``data`` verbatim (a broken response) and closes."""

    async def route(ex: Exchange) -> None:
        ex.writer.write(data)
        await ex.writer.drain()
        raise _CloseConnection

    return route


async def _bytes(ex: Exchange) -> None:
    await ex.send(200, b"a" * ex.int_arg())


async def _big(ex: Exchange) -> None:
    size = ex.int_arg()
    await ex.start(200, [("Content-Type", TEXT), ("Content-Length", str(size))])
    if ex.method == "HEAD":
        return
    block = b"x" * CHUNK
    for offset in range(0, size, CHUNK):
        ex.writer.write(block if size - offset >= CHUNK else block[: size - offset])
        await ex.writer.drain()
        await asyncio.sleep(0)  # drain() doesn't yield while unpaused; let others run


async def _status(ex: Exchange) -> None:
    status = ex.int_arg()
    if not 100 <= status <= 999:
        raise _NotFound(ex.arg)
    await ex.send(status, f"status {status}".encode())


async def _redirect(ex: Exchange) -> None:
    remaining = ex.int_arg()
    if remaining > 0:
        await ex.send(302, headers=[("Location", f"/redirect/{remaining - 1}")])
    else:
        await ex.send(200, b"redirected")


async def _redirect_abs(ex: Exchange) -> None:
    target = ex.param("to", "")
    if not target:
        await ex.send(400, b"missing to=")
        return
    await ex.send(ex.int_param("code", 302), headers=[("Location", target)])


async def _slow(ex: Exchange) -> None:
    await asyncio.sleep(ex.int_arg() / 1000)
    await ex.send(200, b"slow")


async def _hang(ex: Exchange) -> None:
    while await ex.reader.read(CHUNK):
        pass
    raise _CloseConnection


async def _drip(ex: Exchange) -> None:
    chunks, delay = ex.int_param("chunks", 10), ex.int_param("delay_ms", 100)
    size = max(1, ex.int_param("size", 1))
    await ex.start(200, [("Content-Type", TEXT), ("Transfer-Encoding", "chunked")])
    for _ in range(chunks):
        await asyncio.sleep(delay / 1000)
        ex.writer.write(b"%x\r\n%s\r\n" % (size, b"d" * size))
        await ex.writer.drain()
    ex.writer.write(b"0\r\n\r\n")
    await ex.writer.drain()


def pattern_body(size: int, seed: str) -> bytes:
    """The body /pattern/{size}?seed=S sends: distinct per seed, so interleaving shows."""
    unit = f"<{seed}>".encode()
    return (unit * (size // len(unit) + 1))[:size]


async def _pattern(ex: Exchange) -> None:
    """`delay_ms` before the headers, then the body in `chunks` pieces `gap_ms` apart."""
    body = pattern_body(ex.int_arg(), ex.param("seed", "x"))
    await asyncio.sleep(ex.int_param("delay_ms", 0) / 1000)
    await ex.start(
        200, [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))]
    )
    pieces = max(1, ex.int_param("chunks", 1))
    step = len(body) // pieces + 1
    for offset in range(0, len(body), step):
        if offset:
            await asyncio.sleep(ex.int_param("gap_ms", 0) / 1000)
        ex.writer.write(body[offset : offset + step])
        await ex.writer.drain()


async def _gzip_bomb_route(ex: Exchange) -> None:
    body = await asyncio.to_thread(_gzip_bomb, ex.int_param("mb", 100))
    await ex.send(200, body, headers=[("Content-Encoding", "gzip")])


async def _echo(ex: Exchange) -> None:
    merged: dict[str, str] = {}
    for name, value in ex.headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    payload = {
        "method": ex.method,
        "path": ex.path,
        "query": ex.query,
        "headers": merged,
        "body": ex.body.decode("latin-1"),
    }
    await ex.send(200, json.dumps(payload).encode(), "application/json")


async def _file(ex: Exchange) -> None:
    """`/file/NAME`: pattern bytes (`size`, `seed`) as a download, with the Content-Disposition
    the `cd` parameter gives (none without one)."""
    body = pattern_body(ex.int_param("size", 1000), ex.param("seed", ex.arg))
    disposition = ex.param("cd", "")
    headers = [("Content-Disposition", disposition)] if disposition else []
    await ex.send(200, body, "application/octet-stream", headers)


async def _ranged(ex: Exchange) -> None:
    """`/ranged/NAME?size=N`: a file of pattern bytes that honours `Range: bytes=K-` (206 with
    Content-Range, 416 past the end) and `If-Range` against its ETag. What the test sets in
    `server.ranged[NAME]` changes it: `etag` (the file changed), `cut` (close the connection
    after that many body bytes, once), `hold` (stall after that many, once), `mode` "ignore"
    (every Range answered whole), "wrong" (a 206 that starts a byte early) or "partial" (a 206
    to a request without a Range)."""
    size = ex.int_param("size", 1000)
    with ex.server._lock:
        setting = ex.server.ranged.setdefault(ex.arg, {})
        cut = setting.pop("cut", 0)
        hold = setting.pop("hold", 0)
    version = setting.get("etag", "v1")
    etag = f'"{version}"'
    body = pattern_body(size, f"{ex.arg}-{version}")
    wanted = _header(ex.headers, "range")
    mode = setting.get("mode", "")
    start = 0
    if wanted and mode != "ignore" and _header(ex.headers, "if-range") in (None, etag):
        start = int(wanted.removeprefix("bytes=").split("-", 1)[0])
        if start >= size:
            await ex.send(416, b"", None, [("Content-Range", f"bytes */{size}"), ("ETag", etag)])
            return
        start = max(0, start - 1) if mode == "wrong" else start
    headers = [("Content-Type", "application/octet-stream"), ("ETag", etag),
               ("Accept-Ranges", "bytes"), ("Content-Length", str(size - start))]  # fmt: skip
    ranged = bool(wanted) and mode != "ignore" and _header(ex.headers, "if-range") in (None, etag)
    ranged = ranged or mode == "partial"  # a 206 whether a range was asked or not
    if ranged:
        headers.append(("Content-Range", f"bytes {start}-{size - 1}/{size}"))
    await ex.start(206 if ranged else 200, headers)
    piece = body[start:] if not cut else body[start : start + cut]
    for offset in range(0, len(piece), CHUNK):
        if hold and offset >= hold:  # `hold`: stall there, as a stuck link does, until the
            await ex.reader.read()  # client goes (so the server's in-flight count is true)
            raise _CloseConnection
        ex.writer.write(piece[offset : offset + CHUNK])
        await ex.writer.drain()
        with ex.server._lock:
            ex.server.stats.body_bytes += len(piece[offset : offset + CHUNK])
    if cut:
        raise _CloseConnection


async def _hold(ex: Exchange) -> None:
    await asyncio.sleep(ex.int_param("ms", 100) / 1000)
    await ex.send(200, b"held")


async def _reset(ex: Exchange) -> None:
    sock = ex.writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ex.writer.transport.abort()
    raise _CloseConnection


async def _flaky(ex: Exchange) -> None:
    if ex.server.flaky_attempt(ex.arg) >= ex.int_param("fail", 1):
        await ex.send(200, b"recovered")
        return
    status, retry_after = ex.int_param("status", 503), ex.param("retry_after", "")
    headers = [("Retry-After", retry_after)] if retry_after else []
    await ex.send(status, f"status {status}".encode(), headers=headers)


async def _versioned(ex: Exchange) -> None:
    """The body the test set for this name; ETag and/or Last-Modified as asked (`etag=1`,
    `lastmod=1`), and 304 Not Modified when the request's validators still match."""
    body = ex.server.versions.get(ex.arg, "version 1").encode()
    tag = f'"{zlib.crc32(body):08x}"'
    modified = http_date(1_700_000_000 + zlib.crc32(body) % 1_000_000)
    headers = []
    if ex.param("etag", "0") == "1":
        headers.append(("ETag", tag))
    if ex.param("lastmod", "0") == "1":
        headers.append(("Last-Modified", modified))
    if (ex.param("etag", "0") == "1" and _header(ex.headers, "if-none-match") == tag) or (
        ex.param("lastmod", "0") == "1" and _header(ex.headers, "if-modified-since") == modified
    ):
        await ex.send(304, b"", content_type=None, headers=headers)
        return
    await ex.send(200, body, headers=headers)


def http_date(seconds: float) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


async def _retry_after(ex: Exchange) -> None:
    await ex.send(429, b"too many requests", headers=[("Retry-After", ex.arg)])


_OK = _fixed(200, b"hello world")
_HEAD_200 = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"

# Key: first path segment, plus "/" when the route takes the rest of the path as its arg.
ROUTES: dict[str, Handler] = {
    "": _OK,
    "ok": _OK,
    "bytes/": _bytes,
    "big/": _big,
    "status/": _status,
    "redirect/": _redirect,
    "redirect-abs": _redirect_abs,
    "loop": _fixed(302, headers=[("Location", "/loop")]),
    "slow/": _slow,
    "hang": _hang,
    "drip": _drip,
    "pattern/": _pattern,
    "gzip": _fixed(200, GZIP_BODY, headers=[("Content-Encoding", "gzip")]),
    "deflate": _fixed(200, DEFLATE_BODY, headers=[("Content-Encoding", "deflate")]),
    "deflate-raw": _fixed(200, DEFLATE_RAW_BODY, headers=[("Content-Encoding", "deflate")]),
    "gzip-bomb": _gzip_bomb_route,
    "ansi": _fixed(200, ANSI_BODY, headers=[("X-Evil", ANSI_HEADER)], reason=ANSI_REASON),
    "binary": _fixed(200, PNG_BODY, "image/png"),
    "latin1": _fixed(200, "café olé".encode("latin-1"), "text/plain; charset=iso-8859-1"),
    "no-type": _fixed(200, b"plain text without type", content_type=None),
    "echo": _echo,
    "file/": _file,
    "ranged/": _ranged,
    "echo/": _echo,  # the path as sent, to show how a client encoded it
    "health": _fixed(200, HEALTH_BODY, "application/json", headers=[("X-Build", "1.4.2")]),
    "health-down": _fixed(200, DOWN_BODY, "application/json"),
    "page": _fixed(200, PAGE_BODY, "text/html; charset=utf-8"),
    "gzip-json": _fixed(
        200, gzip.compress(HEALTH_BODY), "application/json", [("Content-Encoding", "gzip")]
    ),
    "hold": _hold,
    "headers-big": _fixed(200, b"ok", headers=[(f"X-Pad-{i}", "p" * 100) for i in range(1000)]),
    "reset": _reset,
    "close-mid-headers": _raw_then_close(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl"),
    "short-body": _raw_then_close(_HEAD_200 + b"Content-Length: 100\r\n\r\n" + b"a" * 10),
    "bad-chunked": _raw_then_close(
        _HEAD_200 + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\n"
    ),
    "flaky/": _flaky,
    "retry-after/": _retry_after,
    "versioned/": _versioned,
}


# --- protocol -----------------------------------------------------------------------


async def _reject(writer: asyncio.StreamWriter, status: int) -> NoReturn:
    head = f"HTTP/1.1 {status} {_phrase(status)}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    writer.write(head.encode())
    await writer.drain()
    raise _CloseConnection


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
        pass
    return b"".join(parts)


async def _read_body(reader: asyncio.StreamReader, headers: list[tuple[str, str]]) -> bytes:
    if "chunked" in (_header(headers, "transfer-encoding") or "").lower():
        return await _read_chunked(reader)
    length = _header(headers, "content-length")
    return await reader.readexactly(int(length)) if length else b""


def _keep_alive(version: str, headers: list[tuple[str, str]]) -> bool:
    tokens = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens


def _quiet_exceptions(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop client connection errors and TLS handshakes cut by stop(); report the rest."""
    if not isinstance(context.get("exception"), (OSError, asyncio.CancelledError)):
        loop.default_exception_handler(context)


class TestServer:
    """HTTP/1.1 server on 127.0.0.1:0 with its own event loop in a daemon thread.

    Given `hosts`, it listens on each of those loopback addresses, all on one port: as many
    origins as addresses, with no DNS (the whole of 127.0.0.0/8 is local)."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self, ssl_context: ssl.SSLContext | None = None, hosts: tuple[str, ...] = ("127.0.0.1",)
    ) -> None:
        self.ssl_context = ssl_context
        self.hosts = hosts
        self.stats = ServerStats()
        self._lock = threading.Condition()
        self._flaky: collections.Counter[str] = collections.Counter()
        self.versions: dict[str, str] = {}  # /versioned/{name}: what the body is now
        self.ranged: dict[str, dict[str, Any]] = {}  # /ranged/{name}: see _ranged
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._error: BaseException | None = None
        self._port = 0

    @property
    def url(self) -> str:
        return self.url_for(self.hosts[0])

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("TestServer is not started")
        return self._port

    def url_for(self, host: str) -> str:
        """The base URL of one of the server's addresses (or of a name that resolves to it)."""
        return f"{'https' if self.ssl_context else 'http'}://{host}:{self.port}"

    def start(self) -> None:
        """Start the loop thread and return once the listener is bound."""
        if self._thread is not None:
            raise RuntimeError("TestServer already started")
        self._thread = threading.Thread(target=self._run, name="TestServer", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("TestServer did not start")
        if self._error is not None:
            raise RuntimeError("TestServer failed to start") from self._error

    def stop(self) -> None:
        """Close the listener and every connection (cancelling handlers), join the thread."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=30)
        self._thread = None

    def reset(self) -> None:
        """Zero the counters and flaky-route state; in_flight stays a true gauge."""
        with self._lock:
            stats = self.stats
            stats.requests = stats.connections = 0
            stats.peak_in_flight = stats.in_flight
            stats.paths.clear()
            stats.arrivals.clear()
            stats.methods.clear()
            stats.body_bytes = 0
            self._flaky.clear()
            self.ranged.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is in flight (responses reach clients before the count drops)."""
        with self._lock:
            return self._lock.wait_for(lambda: self.stats.in_flight == 0, timeout)

    def flaky_attempt(self, key: str) -> int:
        """Return how many earlier requests /flaky/{key} has seen, counting this one."""
        with self._lock:
            self._flaky[key] += 1
            return self._flaky[key] - 1

    def __enter__(self) -> TestServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            if self._ready.is_set():
                raise
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_quiet_exceptions)
        self._stopping = asyncio.Event()
        servers = []
        for host in self.hosts:  # the first picks the port, the others take the same one
            servers.append(
                await asyncio.start_server(
                    self._connection, host, self._port, ssl=self.ssl_context, limit=HEADER_LIMIT
                )
            )
            self._port = servers[0].sockets[0].getsockname()[1]
        self._loop = loop
        self._ready.set()
        await self._stopping.wait()
        for server in servers:
            server.close()
        await asyncio.sleep(0)  # let just-accepted connections register their tasks
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in list(self._writers):
            writer.transport.abort()
        for server in servers:
            await server.wait_closed()
        await asyncio.sleep(0)  # let the aborted transports finish closing

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        with self._lock:
            self.stats.connections += 1
        try:
            while await self._serve_one(reader, writer):
                pass
        except (_CloseConnection, OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # only stop() cancels; 3.11's start_server callback would log a cancelled task
        finally:
            await self._close(writer)
            self._writers.discard(writer)
            self._tasks.discard(task)

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        """Close gracefully, but abort when stopping so an unread write buffer can't block."""
        if self._stopping is not None and self._stopping.is_set():
            writer.transport.abort()
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, asyncio.CancelledError):
            writer.transport.abort()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; return whether the connection stays open."""
        ex = await self._read_head(reader, writer)
        if ex is None:
            return False
        with self._lock:
            stats = self.stats
            stats.requests += 1
            stats.in_flight += 1
            stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
            stats.paths[ex.path] += 1
            stats.arrivals.append(time.monotonic())
            stats.methods.append(ex.method)
        try:
            try:
                ex.body = await _read_body(reader, ex.headers)
            except ValueError:
                await _reject(writer, 400)
            await self._dispatch(ex)
        finally:
            with self._lock:
                self.stats.in_flight -= 1
                self._lock.notify_all()
        return ex.keep_alive

    async def _read_head(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Exchange | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError:
            await _reject(writer, 431)
        lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")[:-2]
        parts = lines[0].split(" ") if lines else []
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            await _reject(writer, 400)
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                await _reject(writer, 400)
            headers.append((name.strip(), value.strip()))
        target = urlsplit(parts[1])
        return Exchange(
            server=self,
            reader=reader,
            writer=writer,
            method=parts[0],
            path=target.path or "/",
            query=target.query,
            headers=headers,
            keep_alive=_keep_alive(parts[2], headers),
        )

    async def _dispatch(self, ex: Exchange) -> None:
        segment, slash, arg = ex.path[1:].partition("/")
        ex.arg = unquote(arg)
        route = ROUTES.get(segment + slash)
        try:
            if route is None:
                raise _NotFound(ex.path)
            await route(ex)
        except _NotFound:
            await ex.send(404, b"not found")


def serve_forever_cli() -> None:
    """Start a TestServer, print its URL and block until Ctrl-C."""
    server = TestServer()
    server.start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    serve_forever_cli()
