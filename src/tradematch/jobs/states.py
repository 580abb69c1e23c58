from typing import Annotated

from tradematch.kit.schemas import NamedEnum
from tradematch.kit.states import StateMachine

JOB = StateMachine(
    entity="job",
    states=(
        "draft",
        "live",
        "in_progress",
        "disputed",
        "completed",
        "closed",
        "cancelled",
        "expired",
    ),
    transitions={
        ("draft", "edit"): "draft",
        ("draft", "publish"): "live",
        ("draft", "cancel"): "cancelled",
        ("live", "cancel"): "cancelled",
        ("live", "expire"): "expired",
        ("live", "award"): "in_progress",
        ("in_progress", "dispute"): "disputed",
        ("disputed", "resume"): "in_progress",
        ("disputed", "resolve_completed"): "completed",
        ("disputed", "resolve_cancelled"): "cancelled",
        ("in_progress", "complete"): "completed",
        ("completed", "close"): "closed",
    },
)

# The API's enum of these states (one schema component, generated from the table above).
JobStatus = Annotated[str, NamedEnum("JobStatus", JOB.states)]
