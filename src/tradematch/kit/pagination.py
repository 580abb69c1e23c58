"""Keyset pages: the repository reads one row more than the page (``kit.repository.keyset_page``)
and ``page`` cuts it off; the extra row's presence is what says another page follows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypedDict, TypeVar

from fastapi import Query

T = TypeVar("T")

# The page size a list endpoint accepts (each endpoint gives its own default).
PageLimit = Annotated[int, Query(ge=1, le=100)]


class StatusPage(TypedDict):
    """What a list with a status filter is asked for: the page size, the cursor of the page
    (None: the first) and the status (None: any)."""

    limit: int
    cursor: str | None
    status: str | None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # the last item's key, when another page follows


def page(rows: Sequence[T], limit: int, cursor_of: Callable[[T], object]) -> Page[T]:
    """The first ``limit`` rows, and the cursor of the next page if ``rows`` had more."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, str(cursor_of(items[-1])) if more and items else None)
