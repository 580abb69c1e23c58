from typing import Annotated

from tradematch.kit.schemas import NamedEnum
from tradematch.kit.states import StateMachine

MILESTONE = StateMachine(
    entity="milestone",
    states=("pending", "submitted", "changes_requested", "approved", "released"),
    transitions={
        ("pending", "submit"): "submitted",
        ("changes_requested", "submit"): "submitted",
        ("submitted", "approve"): "approved",
        ("submitted", "request_changes"): "changes_requested",
        ("approved", "release"): "released",
    },
)

# The API's enum of these states (one schema component, generated from the table above).
MilestoneStatus = Annotated[str, NamedEnum("MilestoneStatus", MILESTONE.states)]
