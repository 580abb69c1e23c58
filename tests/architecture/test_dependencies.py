"""Every dependency of every route, and the endpoint itself, is a coroutine (or an async
generator).

FastAPI runs a plain function, or a class, given as an endpoint or a dependency in a worker
thread: one thread hop per request, in CPU and latency, for work that never blocks. Endpoints
and their dependencies therefore are ``async def`` (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute, APIWebSocketRoute

from tradematch.api.deps import all_dependants
from tradematch.app import api_routers, create_app


def _runs_on_the_loop(call: Callable[..., Any]) -> bool:
    if inspect.isclass(call):
        return False
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    method = type(call).__call__  # an instance, e.g. HTTPBearer(...)
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)


def test_no_route_runs_a_dependency_in_a_worker_thread() -> None:
    app = create_app()
    threaded: set[str] = set()
    routes = [
        route
        for route in [*app.routes, *(r for _, router in api_routers() for r in router.routes)]
        if isinstance(route, APIRoute | APIWebSocketRoute)
    ]
    assert len(routes) > 50  # the whole API, not an empty list that passes anything
    for route in routes:
        for dependant in all_dependants(route.dependant):
            if dependant.call is not None and not _runs_on_the_loop(dependant.call):
                name = getattr(dependant.call, "__qualname__", repr(dependant.call))
                threaded.add(f"{route.path}: {name}")
    assert not threaded, sorted(threaded)
