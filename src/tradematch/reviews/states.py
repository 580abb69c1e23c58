from typing import Annotated

from tradematch.kit.schemas import NamedEnum
from tradematch.kit.states import StateMachine

REVIEW = StateMachine(
    entity="review",
    states=("published", "held", "rejected"),
    transitions={
        ("held", "approve"): "published",
        ("held", "reject"): "rejected",
    },
)

# The API's enum of these states (one schema component, generated from the table above).
ReviewStatus = Annotated[str, NamedEnum("ReviewStatus", REVIEW.states)]
