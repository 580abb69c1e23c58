"""Every state machine, as data, with no database: each pair in the table returns its target,
and every other (state, action) pair raises the 409 ``INVALID_STATE_TRANSITION``.

The expected edges are written out again here from contract §4, so a table that grows an edge
the contract does not have (or loses one) fails here, not in production.
"""

from __future__ import annotations

import itertools

import pytest

from tradematch.core.errors import InvalidStateTransition
from tradematch.disputes.states import DISPUTE
from tradematch.escrow.states import ESCROW
from tradematch.jobs.states import JOB
from tradematch.kit.states import StateMachine
from tradematch.leads.states import LEAD
from tradematch.milestones.states import MILESTONE
from tradematch.quotes.states import QUOTE
from tradematch.reviews.states import REVIEW

MACHINES = (JOB, LEAD, QUOTE, ESCROW, MILESTONE, REVIEW, DISPUTE)

# Contract §4, edge by edge: {(from, to)}.
CONTRACT_EDGES: dict[str, set[tuple[str, str]]] = {
    "job": {
        ("draft", "draft"),  # only a draft can be edited
        ("draft", "live"),
        ("draft", "cancelled"),
        ("live", "cancelled"),
        ("live", "expired"),
        ("live", "in_progress"),
        ("in_progress", "disputed"),
        ("disputed", "in_progress"),
        ("disputed", "completed"),
        ("disputed", "cancelled"),
        ("in_progress", "completed"),
        ("completed", "closed"),
    },
    "lead": {
        ("offered", "accepted"),
        ("offered", "declined"),
        ("offered", "expired"),
        ("accepted", "quote_sent"),
        ("quote_sent", "accepted"),
        ("quote_sent", "quote_accepted"),
        ("offered", "closed"),
        ("accepted", "closed"),
        ("quote_sent", "closed"),
    },
    "quote": {
        ("pending", "pending"),  # a vendor edits only a pending quote
        ("pending", "accepted"),
        ("pending", "rejected"),
        ("pending", "withdrawn"),
        ("pending", "expired"),
    },
    "escrow": {
        ("pending", "held"),
        ("held", "partial_released"),
        ("partial_released", "partial_released"),
        ("held", "released"),  # a single milestone, or the last one, releases everything
        ("partial_released", "released"),
        ("held", "disputed"),
        ("partial_released", "disputed"),
        ("disputed", "held"),
        ("disputed", "partial_released"),
        ("disputed", "released"),
        ("disputed", "refunded"),
        ("disputed", "settled"),  # the ruling paid the vendor part and refunded the rest
        ("pending", "cancelled"),  # the ruling cancelled a job whose escrow was never funded
    },
    "milestone": {
        ("pending", "submitted"),
        ("submitted", "approved"),
        ("approved", "released"),
        ("submitted", "changes_requested"),
        ("changes_requested", "submitted"),
        # A ruling ends the job before these milestones are paid.
        ("pending", "settled"),
        ("submitted", "settled"),
        ("changes_requested", "settled"),
        ("pending", "cancelled"),
        ("submitted", "cancelled"),
        ("changes_requested", "cancelled"),
    },
    "review": {("held", "published"), ("held", "rejected")},
    "dispute": {("open", "resolved")},
}

# States nothing leaves.
TERMINAL: dict[str, set[str]] = {
    "job": {"closed", "cancelled", "expired"},
    "lead": {"declined", "expired", "quote_accepted", "closed"},
    "quote": {"accepted", "rejected", "withdrawn", "expired"},
    "escrow": {"released", "refunded", "settled", "cancelled"},
    "milestone": {"released", "settled", "cancelled"},
    "review": {"published", "rejected"},
    "dispute": {"resolved"},
}


def _ids(machine: StateMachine) -> str:
    return machine.entity


@pytest.mark.parametrize("machine", MACHINES, ids=_ids)
def test_the_table_is_the_contracts(machine: StateMachine) -> None:
    edges = {(state, target) for (state, _action), target in machine.transitions.items()}
    assert edges == CONTRACT_EDGES[machine.entity]
    leaving = {state for state, _ in machine.transitions}
    assert set(machine.states) - leaving == TERMINAL[machine.entity]


@pytest.mark.parametrize("machine", MACHINES, ids=_ids)
def test_every_pair_in_the_table_returns_its_target(machine: StateMachine) -> None:
    for (state, action), target in machine.transitions.items():
        assert machine.can(state, action)
        assert machine.transition(state, action) == target
        assert state in machine.sources(action)


@pytest.mark.parametrize("machine", MACHINES, ids=_ids)
def test_every_pair_outside_the_table_is_a_409(machine: StateMachine) -> None:
    actions = sorted(machine.actions | {"teleport"})
    refused = 0
    for state, action in itertools.product(machine.states, actions):
        if (state, action) in machine.transitions:
            continue
        assert not machine.can(state, action)
        assert state not in machine.sources(action)
        with pytest.raises(InvalidStateTransition) as raised:
            machine.transition(state, action)
        error = raised.value
        assert error.status_code == 409
        assert error.body() == {
            "error": error.message,
            "code": "INVALID_STATE_TRANSITION",
            "entity": machine.entity,
            "current_state": state,
            "action": action,
        }
        refused += 1
    assert refused == len(machine.states) * len(actions) - len(machine.transitions)


@pytest.mark.parametrize("machine", MACHINES, ids=_ids)
def test_a_state_the_machine_does_not_know_is_refused(machine: StateMachine) -> None:
    for action in machine.actions:
        with pytest.raises(InvalidStateTransition):
            machine.transition("no_such_state", action)


def test_a_table_naming_an_unknown_state_is_rejected_at_definition() -> None:
    with pytest.raises(AssertionError):
        StateMachine(entity="thing", states=("a", "b"), transitions={("a", "go"): "c"})
