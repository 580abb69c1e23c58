from typing import Annotated

from tradematch.core.errors import NoLongerAvailable
from tradematch.kit.schemas import NamedEnum
from tradematch.kit.states import StateMachine

LEAD = StateMachine(
    entity="lead",
    states=(
        "offered",
        "accepted",
        "declined",
        "expired",
        "quote_sent",
        "quote_accepted",
        "closed",
    ),
    transitions={
        ("offered", "accept"): "accepted",
        ("offered", "decline"): "declined",
        ("offered", "expire"): "expired",
        ("accepted", "send_quote"): "quote_sent",
        ("quote_sent", "reopen"): "accepted",  # quote rejected or withdrawn
        ("quote_sent", "win"): "quote_accepted",
        ("offered", "close"): "closed",
        ("accepted", "close"): "closed",
        ("quote_sent", "close"): "closed",
    },
)

# Leads still in play for their vendor (they count towards a job's open leads).
OPEN_LEAD_STATES = ("offered", "accepted", "quote_sent")
# Lead states in which the vendor has accepted and may message the customer.
ENGAGED_LEAD_STATES = ("accepted", "quote_sent", "quote_accepted")
# Lead states in which the vendor sees the job's photos (as in its lead view): in play or won.
PHOTO_LEAD_STATES = (*OPEN_LEAD_STATES, "quote_accepted")
# Lead states in which the vendor is out of the job: it declined, the lead expired, or the lead
# closed (the job was cancelled or expired, or another vendor won it).
OUT_OF_JOB_LEAD_STATES = ("declined", "expired", "closed")


def ensure_in_job(lead_status: str) -> None:
    """The one rule for every vendor action on a job, lead, quote, conversation or milestone: a
    vendor out of the job hears only 409 ``NO_LONGER_AVAILABLE`` ("This job is no longer
    available"), whatever the reason and whatever state the job or the object is in."""
    if lead_status in OUT_OF_JOB_LEAD_STATES:
        raise NoLongerAvailable()


# The API's enum of these states (one schema component, generated from the table above).
LeadStatus = Annotated[str, NamedEnum("LeadStatus", LEAD.states)]
