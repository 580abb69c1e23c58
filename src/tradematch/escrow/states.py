from typing import Annotated

from tradematch.kit.schemas import NamedEnum
from tradematch.kit.states import StateMachine

ESCROW = StateMachine(
    entity="escrow",
    states=("pending", "held", "partial_released", "released", "disputed", "refunded"),
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
    },
)

# The API's enum of these states (one schema component, generated from the table above).
EscrowStatus = Annotated[str, NamedEnum("EscrowStatus", ESCROW.states)]
