"""Contact details on the live-update socket: what a vendor's socket is pushed carries no contact
details typed into a job it has not accepted, and free text in event payloads (a dispute's
reason) arrives redacted, as in the HTTP feed (docs/security.md)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.flows.database import Database
from tests.flows.deals import awarded_job, raise_dispute
from tests.flows.live import LiveSocket
from tests.flows.servers import LiveServer, running_servers
from tests.flows.users import Api
from tests.security.contact_examples import AUDITOR_EXAMPLES
from tests.security.test_free_text_policy import shows
from tradematch.kit.text import REDACTED


@pytest.fixture(scope="module")
def live_server(
    module_db: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with running_servers(module_db, tmp_path_factory, 1) as (server,):
        yield server


async def test_vendor_socket_shows_no_contact_details(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        api = Api(http)
        job = await awarded_job(api, funded=False)
        vendor, customer = job.winner, job.customer
        socket = await LiveSocket.open(live_server.base_url, vendor)
        try:
            # A new job in the vendor's area, every auditor example typed into it.
            examples = " ".join(AUDITOR_EXAMPLES.values())
            new_job = await api.create_job(
                customer, title="Second tap", description=f"Call {examples}"
            )
            await api.publish(customer, new_job["job_id"])
            offered = await socket.until_event("LEAD_OFFERED")
            assert offered["event"]["job_id"] == new_job["job_id"]

            reason = "He stopped answering 07700_900123, the tap still leaks"
            response = await raise_dispute(api, customer, job.job_id, reason)
            assert response.status_code == 201, response.text
            raised = await socket.until_event("DISPUTE_RAISED")
            assert raised["event"]["payload"]["reason"] == (
                f"He stopped answering {REDACTED}, the tap still leaks"
            )
            for _, message in socket.received:
                for example in AUDITOR_EXAMPLES.values():
                    assert not shows(message, example), message
        finally:
            await socket.close()
