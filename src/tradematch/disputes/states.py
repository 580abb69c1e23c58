from typing import Annotated

from tradematch.kit.schemas import NamedEnum
from tradematch.kit.states import StateMachine

DISPUTE = StateMachine(
    entity="dispute",
    states=("open", "resolved"),
    transitions={("open", "resolve"): "resolved"},
)

RESOLUTIONS = ("release_to_vendor", "refund_customer", "split", "resume")

# The API's enum of these states (one schema component, generated from the table above).
DisputeStatus = Annotated[str, NamedEnum("DisputeStatus", DISPUTE.states)]
