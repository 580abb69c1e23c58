"""State machines as data: a table of ``(state, action) -> new state`` and one guard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tradematch.core.errors import InvalidStateTransition


@dataclass(frozen=True)
class StateMachine:
    entity: str
    states: tuple[str, ...]
    transitions: Mapping[tuple[str, str], str]

    def __post_init__(self) -> None:
        for (state, _action), target in self.transitions.items():
            assert state in self.states and target in self.states, (state, target)

    @property
    def pattern(self) -> str:
        """A regular expression matching exactly the states (a query filter's validation)."""
        return "^(" + "|".join(self.states) + ")$"

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(action for _state, action in self.transitions)

    def can(self, state: str, action: str) -> bool:
        return (state, action) in self.transitions

    def transition(self, state: str, action: str) -> str:
        """The state after ``action``; raises 409 INVALID_STATE_TRANSITION if not allowed."""
        try:
            return self.transitions[(state, action)]
        except KeyError:
            raise InvalidStateTransition(self.entity, state, action) from None

    def sources(self, action: str) -> tuple[str, ...]:
        """States from which ``action`` is allowed (for set-based SQL guards)."""
        return tuple(s for (s, a) in self.transitions if a == action)
