"""``tradematch serve --workers 2``: the scheduler and the dispatcher run in one place, so each
expiry happens once and each notification is delivered once, whichever API process served the
requests that caused them.

The serve process's scheduler runs with its clock two hours ahead and leads living one hour:
every lead offered through the API is due for expiry as soon as it exists. Emails go to a real
SMTP server in the test (aiosmtpd), which counts each Message-ID it accepts.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.flows.database import Database, fetch
from tests.flows.peers import SmtpPeer, smtp_server
from tests.flows.servers import environment, start_server, stop_server
from tests.flows.users import Api, marketplace
from tradematch.serving import PROCESS_HEADER

VENDORS = 3
MARKETS = 3

LEADS_SQL = """
SELECT l.id, l.status, count(*) FILTER (WHERE e.type = 'LEAD_EXPIRED') AS expired
  FROM leads l LEFT JOIN event_log e ON e.payload->>'lead_id' = l.id
 GROUP BY l.id, l.status
"""
EMAILS_SQL = "SELECT id, status FROM notifications WHERE channel = 'email'"


async def test_with_two_workers_each_expiry_and_email_happens_once(
    fresh_db: Database, tmp_path: Path
) -> None:
    peer = SmtpPeer()
    async with smtp_server(peer) as smtp_port:
        with environment(
            TRADEMATCH_SMTP_HOST="127.0.0.1",
            TRADEMATCH_SMTP_PORT=str(smtp_port),
            TRADEMATCH_CLOCK_OFFSET_SECONDS="7200",
            TRADEMATCH_LEAD_TTL_HOURS="1",
            TRADEMATCH_SCHEDULER_LEAD_EXPIRY_SECONDS="0.1",
            TRADEMATCH_SCHEDULER_LEAD_TOP_UP_SECONDS="0.1",
            TRADEMATCH_NOTIFY_POLL_SECONDS="0.1",
        ):
            server = await asyncio.to_thread(start_server, fresh_db, tmp_path, "--workers", "2")
        try:
            served_by: Counter[str] = Counter()

            async def note(response: httpx.Response) -> None:
                served_by[response.headers[PROCESS_HEADER]] += 1

            # A new connection per request, so the requests spread over both processes.
            async with httpx.AsyncClient(
                base_url=server.base_url,
                timeout=30,
                limits=httpx.Limits(max_keepalive_connections=0),
                event_hooks={"response": [note]},
            ) as http:
                for _ in range(MARKETS):
                    await marketplace(Api(http), vendors=VENDORS)

            deadline = time.monotonic() + 120
            while True:
                leads = await fetch(fresh_db, LEADS_SQL)
                emails = await fetch(fresh_db, EMAILS_SQL)
                done = len(leads) == MARKETS * VENDORS and all(
                    lead["status"] == "expired" for lead in leads
                )
                sent = all(email["status"] == "sent" for email in emails)
                if done and sent and len(peer.accepted) == len(emails):
                    break
                assert time.monotonic() < deadline, (leads, emails, server.log.read_text())
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # both API processes and the worker keep running meanwhile
        finally:
            stop_server(server)

    log = server.log.read_text()
    assert len(served_by) == 2, served_by  # two API processes answered
    assert log.count('"scheduler started"') == 1 and log.count('"worker_started"') == 1
    leads = await fetch(fresh_db, LEADS_SQL)
    assert [lead["expired"] for lead in leads] == [1] * len(leads)
    emails = await fetch(fresh_db, EMAILS_SQL)
    # Offered and expired, to each vendor: each email sent, and accepted by the server once.
    assert len(emails) >= 2 * MARKETS * VENDORS
    assert peer.accepted_ids() == Counter(
        {f"<{email['id']}@tradematch.local>": 1 for email in emails}
    )
