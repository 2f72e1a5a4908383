"""An HTTP/3 server on UDP 127.0.0.1:0 (aioquic's QUIC and H3Connection), with a trustme
certificate and its own event loop in a daemon thread, answering the routes of the HTTP/2
server (tests/h2_server.py). Nothing listens on the TCP port of the same number, so a client
that answers from it spoke HTTP/3."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import trustme
from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, QuicEvent
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.h2_server import LoopThread, Routes


class H3Server(LoopThread):
    def __init__(self, ca: trustme.CA) -> None:
        super().__init__()
        cert = ca.issue_cert("127.0.0.1")
        self._configuration = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
        self._configuration.certificate = x509.load_pem_x509_certificate(
            cert.cert_chain_pems[0].bytes()
        )
        self._configuration.private_key = serialization.load_pem_private_key(
            cert.private_key_pem.bytes(), password=None
        )

    async def serve(self) -> Callable[[], Awaitable[None]]:
        routes = self.routes

        def protocol(*args: Any, **kwargs: Any) -> _H3Protocol:
            self.stats.connections += 1
            return _H3Protocol(routes, *args, **kwargs)

        server = await serve(
            "127.0.0.1", 0, configuration=self._configuration, create_protocol=protocol
        )
        # serve() gives no way to the port it bound: aioquic keeps its endpoint here.
        self.port = server._transport.get_extra_info("sockname")[1]

        async def close() -> None:
            server.close()

        return close


class _H3Protocol(QuicConnectionProtocol):
    def __init__(self, routes: Routes, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._routes = routes
        self._h3: H3Connection | None = None
        self._open = 0
        self._answers: set[asyncio.Task[None]] = set()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated):
            self._h3 = H3Connection(self._quic)
        if self._h3 is not None:
            for h3_event in self._h3.handle_event(event):
                self._on(h3_event)

    def _on(self, event: H3Event) -> None:
        # Requests here carry no body: the headers end the stream, or the (empty) data does.
        if isinstance(event, HeadersReceived):
            path = dict(event.headers).get(b":path", b"/").decode()
            task = asyncio.create_task(self._answer(event.stream_id, path))
            self._answers.add(task)
            task.add_done_callback(self._answers.discard)

    async def _answer(self, stream_id: int, path: str) -> None:
        assert self._h3 is not None
        self._open += 1
        stats = self._routes.stats
        stats.peak_streams = max(stats.peak_streams, self._open)
        try:
            status, body = await self._routes.respond(path)
        finally:
            self._open -= 1
        headers = [(b":status", str(status).encode()), (b"content-type", b"text/plain")]
        headers.append((b"content-length", str(len(body)).encode()))
        self._h3.send_headers(stream_id, headers, end_stream=not body)
        if body:
            self._h3.send_data(stream_id, body, end_stream=True)
        self.transmit()
