"""A client that stops reading costs only its own socket.

The slow client opens its TCP connection with a tiny receive buffer and never reads, so the
server's writes to it back up; its outbox (100 messages here) fills and the server ends that
socket with close code 4000. Meanwhile the other client of the same conversation keeps
receiving promptly. The kernel buffers megabytes per loopback connection, so the test commits
large events (through the production ``emit``/``flush`` path, without compression on these
sockets) in bursts that a reading client's outbox absorbs, until the stalled one overflows;
then ordinary messages posted through the API still reach the reading client.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.flows.database import Database, commit_events
from tests.flows.deals import send_message
from tests.flows.live import LiveSocket, feed, metric, small_receive_buffer
from tests.flows.servers import LiveServer, running_servers
from tests.flows.users import Api, marketplace

QUEUE = 100
BURST = 90  # events of 32 kB: fits a reading client's outbox
FILLER = 32_000
MAX_BURSTS = 40  # 115 MB: far more than any loopback socket buffers


@pytest.fixture(scope="module")
def server(module_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"TRADEMATCH_WS_QUEUE_SIZE": str(QUEUE)}
    with running_servers(module_db, tmp_path_factory, 1, **env) as (started,):
        yield started


async def test_a_client_that_stops_reading_does_not_delay_the_others(
    server: LiveServer, module_db: Database
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        api = Api(http)
        world = await marketplace(api, vendors=1)
        customer, vendor = world.customer, world.vendors[0]
        conversation_id = (await api.accept(vendor, world.leads[vendor.user_id]))["conversation_id"]
        behind_before = await metric(http, "tradematch_live_sockets_behind_total")
        slow = await LiveSocket.open(
            server.base_url,
            vendor,
            sock=small_receive_buffer(server.base_url),
            max_queue=1,
            compress=False,
        )
        fast = await LiveSocket.open(server.base_url, customer, compress=False)

        bursts = 0
        while await metric(http, "tradematch_live_sockets_behind_total") == behind_before:
            assert bursts < MAX_BURSTS, "the stalled socket was never cut off"
            await commit_events(
                module_db.async_url,
                [customer.user_id, vendor.user_id],
                BURST,
                filler_bytes=FILLER,
                job_id=world.job_id,
            )
            bursts += 1
            for _ in range(BURST):  # the fast client takes each burst whole
                await fast.until_event("MESSAGES_READ", within=30)

        # With the slow client still stalled (and cut off), messages still reach the fast one.
        # (How quickly is a measurement, not a pass mark: bench/ws_latency.py --stalled.)
        for i in range(10):
            sent = await send_message(http, vendor, conversation_id, f"still there {i}")
            await fast.until_event("MESSAGE_SENT", message_id=sent["message_id"])

        # The slow client, reading at last, finds what was buffered and then code 4000 ...
        assert await slow.closed_with(within=60) == 4000
        assert 0 < len(slow.seqs) < bursts * BURST
        # ... and resuming from the last event it saw, it gets the rest: in order, once each.
        last_seen = slow.seqs[-1]
        again = await LiveSocket.open(server.base_url, vendor, resume_from=last_seen)
        await again.until(lambda m: m["type"] == "resumed", within=30)
        expected = [e["seq"] for e in await feed(http, vendor) if e["seq"] > last_seen]
        while not again.seqs or again.seqs[-1] < expected[-1]:
            await again.next(within=30)
        assert again.seqs == expected
        assert (
            slow.seqs + again.seqs
            == [e["seq"] for e in await feed(http, vendor)][-len(slow.seqs + again.seqs) :]
        )
