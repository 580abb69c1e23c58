"""Every route that changes something declares its idempotency policy, once: keys per user,
keys per body field (anonymous registration), or keys ignored (signing in). And no request
model hands ``idempotency_key`` to a service."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from pydantic import ValidationError

from tradematch.api import idempotency
from tradematch.app import api_routers
from tradematch.jobs.schemas import JobUpdate
from tradematch.kit.schemas import EmptyRequest

MUTATING = {"POST", "PATCH", "PUT"}


def _policies(route: APIRoute) -> list[str]:
    found = []
    for dependency in route.dependencies:
        call = dependency.dependency
        if call in idempotency.POLICIES or getattr(call, "__qualname__", "").startswith(
            "idempotent_by."
        ):
            found.append(getattr(call, "__name__", repr(call)))
    return found


def test_every_mutating_route_declares_one_policy() -> None:
    routes = [
        (prefix, route)
        for prefix, router in api_routers()
        for route in router.routes
        if isinstance(route, APIRoute) and (route.methods or set()) & MUTATING
    ]
    assert len(routes) > 20  # discovery works
    problems = {
        f"{sorted(route.methods or ())} {prefix}{route.path}": policies
        for prefix, route in routes
        if len(policies := _policies(route)) != 1
    }
    assert problems == {}


def test_the_anonymous_routes_have_their_own_policies() -> None:
    declared = {
        f"{prefix}{route.path}": _policies(route)
        for prefix, router in api_routers()
        for route in router.routes
        if isinstance(route, APIRoute) and (route.methods or set()) & MUTATING
    }
    assert declared["/api/auth/register"] == ["per_email"]
    assert declared["/api/auth/login"] == ["ignored"]
    assert declared["/api/connection/jobs"] == ["per_user"]


def test_request_models_drop_the_key_after_checking_it() -> None:
    change = JobUpdate.model_validate({"title": "Paint the fence", "idempotency_key": " k-1 "})
    assert change.model_fields_set == {"title"}
    assert not hasattr(change, "idempotency_key")
    assert EmptyRequest.model_validate({"idempotency_key": "k-2"}).model_dump() == {}
    for bad in ("", "   ", "k" * 256, 5, ["k"]):
        with pytest.raises(ValidationError):
            EmptyRequest.model_validate({"idempotency_key": bad})
    with pytest.raises(ValidationError):  # anything else unknown is still refused
        EmptyRequest.model_validate({"idempotency_keys": "k"})
