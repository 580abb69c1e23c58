"""uvicorn's HTTP protocol (httptools) with a deadline and a size limit on the request head.

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
connection closed. The body is not covered: it is the application's (the body size limit) and
a reverse proxy's (docs/operations.md) business.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_BODY = b'{"error":"The request line and headers are too large","code":"HEAD_TOO_LARGE"}'
_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_BODY), _BODY)
)


class HeadLimitedProtocol(HttpToolsProtocol):
    head_timeout: float = 10.0
    max_head_bytes: int = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0

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

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a pipelined request's head is already complete
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._arm_head_deadline()


class ConfiguredProtocol(HeadLimitedProtocol):
    """The protocol ``tradematch serve`` hands uvicorn (``http=``), its limits from the settings
    (``TRADEMATCH_HTTP_HEADER_TIMEOUT_SECONDS``, ``TRADEMATCH_HTTP_MAX_HEADER_BYTES``). A class
    of this module, not one made at run time, so the API processes' configuration pickles."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from tradematch.core.config import get_settings

        settings = get_settings()
        self.head_timeout = settings.http_header_timeout_seconds
        self.max_head_bytes = settings.http_max_header_bytes
        super().__init__(*args, **kwargs)
