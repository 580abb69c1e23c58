from typing import Annotated

from tradematch.kit.schemas import NamedEnum
from tradematch.kit.states import StateMachine

MILESTONE = StateMachine(
    entity="milestone",
    states=(
        "pending",
        "submitted",
        "changes_requested",
        "approved",
        "released",
        "settled",
        "cancelled",
    ),
    transitions={
        ("pending", "submit"): "submitted",
        ("changes_requested", "submit"): "submitted",
        ("submitted", "approve"): "approved",
        ("submitted", "request_changes"): "changes_requested",
        ("approved", "release"): "released",
        # A dispute ruling ended the job before this milestone was paid: "settled" when the job
        # completed (the ruling paid the vendor what it decided), "cancelled" when it was
        # cancelled (the customer was refunded).
        ("pending", "settle"): "settled",
        ("submitted", "settle"): "settled",
        ("changes_requested", "settle"): "settled",
        ("pending", "cancel"): "cancelled",
        ("submitted", "cancel"): "cancelled",
        ("changes_requested", "cancel"): "cancelled",
    },
)

# A milestone in these states never changes again.
TERMINAL = ("released", "settled", "cancelled")
# States that carry the vendor's evidence (a submission was made and not set aside).
WITH_EVIDENCE = ("submitted", "changes_requested", "approved", "released")
# The API's enum of these states (one schema component, generated from the table above).
MilestoneStatus = Annotated[str, NamedEnum("MilestoneStatus", MILESTONE.states)]
