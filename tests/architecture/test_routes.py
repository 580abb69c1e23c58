"""Routers are matched in the order ``app.api_routers`` gives, busiest first. That is safe only
because no request can be served by routes of two routers: then the order decides how fast a
route is found, never which one."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from starlette.routing import Mount, Route, WebSocketRoute, compile_path

from tradematch.app import API_TAGS, api_routers, create_app

PARAMETER = re.compile(r"{[^}]+}")


ANY_METHOD = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _served() -> list[tuple[str, str, re.Pattern[str], frozenset[str]]]:
    """(owner, path, regex, methods) of every route of the application."""
    app = create_app()
    routes = [("app", "", r) for r in app.routes]
    routes += [(f"{p} {r.tags}", p, route) for p, r in api_routers() for route in r.routes]
    served = []
    for owner, prefix, route in routes:
        if not isinstance(route, Route | WebSocketRoute | Mount):
            continue  # FastAPI's included routers: their routes come from api_routers()
        path = prefix + route.path
        regex = route.path_regex if owner == "app" else compile_path(path)[0]
        if isinstance(route, WebSocketRoute):
            methods = frozenset({"WEBSOCKET"})
        else:
            methods = frozenset(getattr(route, "methods", None) or ANY_METHOD)  # a Mount: any
        served.append((owner, path, regex, methods))
    return served


def test_no_request_is_served_by_two_routers() -> None:
    served = _served()
    assert len(served) > 80
    clashes = []
    for owner, path, _, methods in served:
        example = PARAMETER.sub("x1", path)
        for other, other_path, regex, other_methods in served:
            if other != owner and methods & other_methods and regex.match(example):
                clashes.append(f"{sorted(methods)} {path} ({owner}) also {other_path} ({other})")
    assert not clashes, clashes


def test_the_documentation_lists_every_section_once() -> None:
    used = {
        str(tag)
        for _, router in api_routers()
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for tag in [*router.tags, *route.tags]
    }
    assert sorted(t["name"] for t in API_TAGS) == sorted(used)
