from typing import Annotated

from tradematch.kit.schemas import NamedEnum
from tradematch.kit.states import StateMachine

QUOTE = StateMachine(
    entity="quote",
    states=("pending", "accepted", "rejected", "withdrawn", "expired"),
    transitions={
        ("pending", "edit"): "pending",
        ("pending", "accept"): "accepted",
        ("pending", "reject"): "rejected",
        ("pending", "withdraw"): "withdrawn",
        ("pending", "expire"): "expired",
    },
)

# The API's enum of these states (one schema component, generated from the table above).
QuoteStatus = Annotated[str, NamedEnum("QuoteStatus", QUOTE.states)]
