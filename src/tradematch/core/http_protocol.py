"""uvicorn's HTTP protocol (httptools) with deadlines on the request head and body and a size
limit on the head.

uvicorn times out an idle keep-alive connection, but nothing else: a connection that sends no
request, or sends its request line and headers a byte at a time, is kept open for ever (its
keep-alive timer is cancelled by every byte received, and no timer runs before the first
request at all). Thousands of such connections hold the server's sockets and memory
(Slowloris). ASGI middleware cannot help: it only runs once the head is complete. And the
httptools parser puts no limit on the size of the head.

So each connection gets a deadline for each request head: armed when the connection is made
and again when a response completes (for the next request on the same connection), cleared when
the request's headers are complete. When it passes, the connection is closed. Bytes received
while a head is incomplete are counted; past the limit the request is answered 431 and the
connection closed.

A body that stops arriving is the same attack one step later (and holds a request in the
application, which also keeps a stop signal waiting): once a request's head is complete and its
body is not, the connection may stay silent at most ``body_timeout`` between two pieces of the
body; then the request is answered 408 and the connection closed. A slow body that keeps coming
is read, however long it takes (the body size limits bound it), and time the application spends
not reading (uvicorn stops reading past 64 KiB unread) is not held against the client.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _closing_answer(status: bytes, message: str, code: str) -> bytes:
    body = b'{"error":"%s","code":"%s"}' % (message.encode(), code.encode())
    return (
        b"HTTP/1.1 %s\r\ncontent-type: application/json\r\nconnection: close\r\n"
        b"content-length: %d\r\n\r\n%s" % (status, len(body), body)
    )


_HEAD_TOO_LARGE = _closing_answer(
    b"431 Request Header Fields Too Large",
    "The request line and headers are too large",
    "HEAD_TOO_LARGE",
)
_BODY_TIMED_OUT = _closing_answer(
    b"408 Request Timeout", "The request body stopped arriving", "REQUEST_TIMEOUT"
)


class LimitedProtocol(HttpToolsProtocol):
    head_timeout: float = 10.0
    max_head_bytes: int = 64 * 1024
    body_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._body_pending = False  # a request's head is complete, its body is not
        self._body_deadline: asyncio.TimerHandle | None = None
        self._body_progress = 0.0  # loop time of the body's latest piece

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_bytes = 0
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        self._disarm_body_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_deadline is not None:
            # Still no complete head after this data: count it.
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
                self._disarm_head_deadline()
                self.transport.write(_HEAD_TOO_LARGE)
                self.transport.close()
        elif self._body_pending and self._body_deadline is None and not self.transport.is_closing():
            # This data ended inside a body (the usual small body came with its head and is
            # complete by now: no timer for it).
            self._body_progress = self.loop.time()
            self._body_deadline = self.loop.call_later(self.body_timeout, self._body_timed_out)

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        super().on_headers_complete()
        # An upgrade (a WebSocket) has no body; its connection is about to change protocol.
        self._body_pending = not (self.parser.should_upgrade() and self._should_upgrade())

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._body_progress = self.loop.time()

    def on_message_complete(self) -> None:
        self._body_pending = False
        self._disarm_body_deadline()
        super().on_message_complete()

    def _disarm_body_deadline(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _body_timed_out(self) -> None:
        self._body_deadline = None
        if not self._body_pending or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused:  # the application is behind, not the client
            self._body_progress = now
        if (silent := now - self._body_progress) < self.body_timeout:
            self._body_deadline = self.loop.call_later(
                self.body_timeout - silent, self._body_timed_out
            )
            return
        self._body_pending = False
        if self.cycle is not None and not self.cycle.response_started:
            self.transport.write(_BODY_TIMED_OUT)
        self.transport.close()

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a pipelined request's head is already complete
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._arm_head_deadline()


class ConfiguredProtocol(LimitedProtocol):
    """The protocol ``tradematch serve`` hands uvicorn (``http=``), its limits from the settings
    (``TRADEMATCH_HTTP_HEADER_TIMEOUT_SECONDS``, ``TRADEMATCH_HTTP_MAX_HEADER_BYTES``,
    ``TRADEMATCH_HTTP_BODY_TIMEOUT_SECONDS``). A class of this module, not one made at run time,
    so the API processes' configuration pickles."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from tradematch.core.config import get_settings

        settings = get_settings()
        self.head_timeout = settings.http_header_timeout_seconds
        self.max_head_bytes = settings.http_max_header_bytes
        self.body_timeout = settings.http_body_timeout_seconds
        super().__init__(*args, **kwargs)
