"""The award (``PATCH /quotes/:id/accept``): the customer accepts a quote, in one transaction.

1. Lock the job, then the quote (concurrent awards of the job serialise here: all but the first
   find it in progress and answer 409).
2. The job goes in progress with the quote's vendor; the quote is accepted; its lead has won.
3. Every other open lead closes: their pending quotes expire, their conversations lock, and
   each of those vendors hears only "This job is no longer available".
4. The escrow opens for the quote's amount, and the milestones from the quote's breakdown.
5. The winner's conversation says so; ``QUOTE_ACCEPTED``, ``JOB_IN_PROGRESS`` and
   ``ESCROW_CREATED`` go to both parties.

The partial unique index on accepted quotes is the database's second line of defence.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tradematch.authz.actor import Actor
from tradematch.authz.roles import Role, require
from tradematch.escrow import service as escrow
from tradematch.events.types import EventType
from tradematch.jobs import lifecycle
from tradematch.jobs import service as jobs
from tradematch.kit import clock
from tradematch.kit.money import pence_to_pounds
from tradematch.leads import service as leads
from tradematch.messaging import service as messaging
from tradematch.milestones import service as milestones
from tradematch.quotes.schemas import QuoteAccepted
from tradematch.quotes.service import emit_about_quote, lock_with_job
from tradematch.quotes.states import QUOTE

ACCEPTED_MESSAGE = "Quote accepted! Job is now in progress."
ACCEPTED_SYSTEM_TEXT = "Quote accepted. Job in progress."


async def award(session: AsyncSession, actor: Actor, quote_id: str) -> QuoteAccepted:
    require(actor, Role.CUSTOMER)
    job, quote = await lock_with_job(session, actor, quote_id)
    now = clock.now()
    jobs.award(job, quote.vendor_id, now)
    quote.status = QUOTE.transition(quote.status, "accept")
    quote.decided_at = now
    lead = await leads.lock_quoted(session, actor, quote.lead_id)
    leads.win(lead)
    await session.flush()

    await lifecycle.close_open_leads(session, actor, job, except_lead=lead.id)
    account = await escrow.open_for_award(session, job, quote)
    await milestones.create_from_plan(session, job, quote, account)
    await messaging.post_to_job(session, actor, job.id, quote.vendor_id, ACCEPTED_SYSTEM_TEXT)

    accepted = {
        "quote_id": quote.id,
        "lead_id": lead.id,
        "amount": pence_to_pounds(quote.amount_pence),
    }
    event_id = emit_about_quote(session, EventType.QUOTE_ACCEPTED, actor, job, quote, accepted)
    status = {"status": job.status}
    emit_about_quote(session, EventType.JOB_IN_PROGRESS, actor, job, quote, status)
    opened = {"escrow_id": account.id, "total": pence_to_pounds(account.total_pence)}
    emit_about_quote(session, EventType.ESCROW_CREATED, actor, job, quote, opened)
    return QuoteAccepted(
        quote_id=quote.id, job_id=job.id, event_id=event_id, message=ACCEPTED_MESSAGE
    )
