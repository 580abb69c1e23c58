from typing import Annotated

from tradematch.kit.schemas import NamedEnum
from tradematch.kit.states import StateMachine

ESCROW = StateMachine(
    entity="escrow",
    states=(
        "pending",
        "held",
        "partial_released",
        "released",
        "disputed",
        "refunded",
        "settled",
        "cancelled",
    ),
    transitions={
        ("pending", "fund"): "held",
        ("held", "release_part"): "partial_released",
        ("partial_released", "release_part"): "partial_released",
        ("held", "release_all"): "released",
        ("partial_released", "release_all"): "released",
        ("held", "dispute"): "disputed",
        ("partial_released", "dispute"): "disputed",
        ("disputed", "resume_held"): "held",
        ("disputed", "resume_partial"): "partial_released",
        ("disputed", "resolve_released"): "released",
        ("disputed", "resolve_refunded"): "refunded",
        # A ruling that paid the vendor part and refunded the customer the rest.
        ("disputed", "resolve_settled"): "settled",
        # The job ended (a dispute ruled for the customer) before the escrow was ever funded.
        ("pending", "cancel"): "cancelled",
    },
)

# No money will ever move in or out of an escrow in these states.
TERMINAL = ("released", "refunded", "settled", "cancelled")

PAYOUT = StateMachine(
    entity="payout",
    states=("requested", "sent", "failed"),
    transitions={
        ("requested", "send"): "sent",
        ("requested", "fail"): "failed",
    },
)

# The API's enum of these states (one schema component, generated from the table above).
EscrowStatus = Annotated[str, NamedEnum("EscrowStatus", ESCROW.states)]
