"""ASGI middleware: request id, security headers, latency histogram and structured access log
(one middleware), and the request body size limit."""

from __future__ import annotations

import json
import time
import uuid

import anyio
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradematch.core.metrics import REQUEST_LATENCY

log = structlog.get_logger("tradematch.access")
REQUEST_ID_HEADER = b"x-request-id"


class HttpMiddleware:
    """An ASGI middleware that acts on HTTP requests alone (``handle``); anything else
    (WebSocket, lifespan) passes straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


# The dashboards run no inline script, no inline handler and no style attribute; they talk only
# to this origin (the API and its WebSocket: CSP Level 3 'self' covers ws:/wss: of the origin).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'"
)
# The third-party API docs pages (Swagger UI, ReDoc) set styles from script; they still run
# only this origin's scripts. ReDoc's search index runs in a worker made from a blob.
DOCS_POLICY = CONTENT_SECURITY_POLICY.replace(
    "worker-src 'self'", "worker-src 'self' blob:; style-src 'self' 'unsafe-inline'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc"})
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_PAGE_HEADERS = [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode()), *SECURITY_HEADERS]
_DOCS_HEADERS = [(b"content-security-policy", DOCS_POLICY.encode()), *SECURITY_HEADERS]


class RequestContextMiddleware(HttpMiddleware):
    """What every HTTP request gets, whatever answers it (API, page, static file, error): a
    request id (echoed as ``X-Request-ID`` and bound into every log line), the browser
    protections (``SECURITY_HEADERS`` and a content security policy), a place in the latency
    histogram and an access log line. One wrapper of ``send`` does both headers: a response
    goes through it twice (start and body), so each wrapper costs every request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER, b"").decode("latin-1")
        request_id = (
            incoming if 0 < len(incoming) <= 100 and incoming.isprintable() else uuid.uuid4().hex
        )
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        protections = _DOCS_HEADERS if scope["path"] in DOCS_PATHS else _PAGE_HEADERS
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in protections if header[0] not in present)
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUEST_LATENCY.labels(scope["method"], template, f"{status // 100}xx").observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


class BodySizeLimitMiddleware(HttpMiddleware):
    """Refuses a request body over the limit with 413 ``BODY_TOO_LARGE`` before anything parses
    it: at once when the declared ``Content-Length`` is over, and as soon as the bytes received
    pass it when the body streams in (chunked, or a Content-Length that lies low is cut short by
    the server anyway). Nothing over the limit is ever held.

    ``multipart_max_bytes`` is the ceiling for ``multipart/form-data`` bodies: the upload routes
    enforce their own, tighter limit (``UPLOAD_TOO_LARGE``) inside it; this one only bounds a
    multipart body sent to any other route.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, multipart_max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.multipart_max_bytes = multipart_max_bytes

    def _limit_for(self, headers: dict[bytes, bytes]) -> int:
        content_type = headers.get(b"content-type", b"").lower()
        if content_type.startswith(b"multipart/form-data"):
            return max(self.max_bytes, self.multipart_max_bytes)
        return self.max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        limit = self._limit_for(headers)
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit():
            if int(declared) > limit:
                await _refuse_body(send, limit)
                return
            if b"transfer-encoding" not in headers:
                # The server frames the body by its declared length, which is within the
                # limit: nothing more can arrive, and nothing needs counting.
                await self.app(scope, receive, send)
                return
        received = 0
        refused = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not response_started:
                        if message.get("more_body", False):
                            await _drain(receive, self.max_bytes)
                        await _refuse_body(send, limit)
                    # The application sees a client that went away: it stops reading, and
                    # whatever it answers is dropped (the 413 is already on its way).
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


# How long the rest of a refused body is still read (and dropped) for before the 413 goes out,
# so that a client that sends its whole body before reading gets the answer rather than a reset
# connection (the server closes the connection once the answer is sent).
DRAIN_SECONDS = 5.0


async def _drain(receive: Receive, max_bytes: int) -> None:
    """Read and drop what remains of a refused body: at most ``max_bytes`` more for at most
    ``DRAIN_SECONDS``; past that the connection is closed under the client."""
    drained = 0
    with anyio.move_on_after(DRAIN_SECONDS):
        while drained <= max_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


async def _refuse_body(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": f"The request body is larger than {limit:,} bytes",
            "code": "BODY_TOO_LARGE",
            "max_bytes": limit,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
