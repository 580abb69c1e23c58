"""A PostgreSQL wire-protocol relay that can lose a COMMIT the way a network does.

The application connects to the relay's Unix socket; the relay passes every byte to the real
server unchanged, except for the next COMMIT after ``arm``:

- ``"drop_commit"``: the COMMIT never reaches the server and the connection breaks, so the
  server rolls the transaction back;
- ``"lose_reply"``: the COMMIT reaches the server, which commits; its reply is swallowed and the
  connection breaks, so the application cannot know that it committed.

Either way the application sees its connection fail during COMMIT: the one failure whose
outcome it cannot know. Nothing else is altered; the database is real.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import make_url

Mode = Literal["drop_commit", "lose_reply"]
_NEGOTIATION_CODES = (80877103, 80877104)  # SSLRequest, GSSENCRequest: answered by one byte


@dataclass
class Hit:
    mode: Mode
    swallowed: bytes = b""
    done: asyncio.Event = field(default_factory=asyncio.Event)


class PgProxy:
    def __init__(self, server_url: str, directory: Path) -> None:
        url = make_url(server_url)
        host = url.query.get("host")
        self._unix = f"{host}/.s.PGSQL.{url.port or 5432}" if isinstance(host, str) else None
        self._tcp = (url.host or "127.0.0.1", url.port or 5432)
        self.directory = directory
        self.hits: list[Hit] = []
        self._armed: Mode | None = None
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def url(self, database: str) -> str:
        """The asyncpg URL of ``database`` through the relay."""
        return f"postgresql+asyncpg://postgres@/{database}?host={self.directory}"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.start_unix_server(
            self._relay, path=str(self.directory / ".s.PGSQL.5432")
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    def arm(self, mode: Mode) -> Hit:
        self._armed = mode
        hit = Hit(mode)
        self.hits.append(hit)
        return hit

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        if self._unix is not None:
            server_in, server_out = await asyncio.open_unix_connection(self._unix)
        else:
            server_in, server_out = await asyncio.open_connection(*self._tcp)
        self._writers |= {client_out, server_out}
        swallowing: list[Hit] = []

        def hang_up() -> None:
            for writer in (client_out, server_out):
                writer.close()

        async def from_client() -> None:
            while True:  # start-up: untyped messages, after any TLS/GSS negotiation request
                header = await client_in.readexactly(8)
                length, code = struct.unpack("!ii", header)
                server_out.write(header + await client_in.readexactly(length - 8))
                if code not in _NEGOTIATION_CODES:
                    break
            while True:
                head = await client_in.readexactly(5)
                body = await client_in.readexactly(struct.unpack("!i", head[1:])[0] - 4)
                commit = head[:1] == b"Q" and body.lstrip().upper().startswith(b"COMMIT")
                if commit and self._armed is not None:
                    mode, self._armed = self._armed, None
                    hit = self.hits[-1]
                    if mode == "drop_commit":
                        hit.done.set()
                        hang_up()
                        return
                    swallowing.append(hit)
                server_out.write(head + body)
                await server_out.drain()

        async def from_server() -> None:
            while data := await server_in.read(65536):
                if swallowing:  # the reply to the COMMIT: the application never sees it
                    hit = swallowing[0]
                    hit.swallowed += data
                    if b"Z" in hit.swallowed:  # ReadyForQuery: the server has finished
                        hit.done.set()
                        hang_up()
                        return
                    continue
                client_out.write(data)
                await client_out.drain()

        # Either side ending ends the session, as a network connection would.
        directions = [asyncio.ensure_future(from_client()), asyncio.ensure_future(from_server())]
        await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
        hang_up()
        for direction in directions:
            direction.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*directions, return_exceptions=True)
        self._writers -= {client_out, server_out}
