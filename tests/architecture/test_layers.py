"""The shape of the code, checked: who may import whom (shared/STYLE.md, "Layers"), that every
SQL statement lives in a repository, and that a domain reaches another's data only through that
domain's services.

Layers, from the ground up (an import may only point down or sideways):

0. ground: ``core/``, ``kit/``, the roles and the acting user (``authz/roles.py``,
   ``authz/actor.py``): config, database, errors, ids, money; they know no business.
1. tables: each package's ``models.py`` and ``states.py``, ``events/types.py``, the registry
   ``tables.py`` and the migrations: the schema, and the state machines it enforces.
2. ``authz/``: the scopes, conditions on those tables.
3. ``events/`` and ``idempotency/``: the event log, the unit of work, idempotency keys.
4. the domains (accounts, vendors, jobs, leads, messaging, quotes, escrow, milestones, reviews,
   disputes, notifications, denials, and any new package).
5. the faces: the HTTP plumbing (``api/``, ``app.py``) and every ``endpoints.py``, the CLI, the
   admin and ops routers, live updates, the worker, the dashboards, and the session factory
   (``sessions.py``, which wires the domains together).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tradematch

SRC = Path(tradematch.__file__).resolve().parent

GROUND, TABLES, AUTHZ, LOG, DOMAIN, FACE = range(6)
LAYER_NAMES = ["ground", "tables", "authz", "events/idempotency", "domain", "face"]

FACES = {"api", "app", "cli", "demo", "sessions", "__main__", "admin", "ops", "realtime"}
FACES |= {"worker", "web", "serving"}
DOMAIN_LIKE_LOG = {"events", "idempotency"}
TABLE_MODULES = {"models", "states", "types", "chain"}

# SQL construction from SQLAlchemy: statements and the expressions they are built from.
SQL_NAMES = {
    "select",
    "insert",
    "update",
    "delete",
    "text",
    "exists",
    "func",
    "literal_column",
    "union",
    "union_all",
}
# Calls that run SQL: on a session or connection (SQLAlchemy or asyncpg).
SQL_METHODS = {
    "execute",
    "scalar",
    "scalars",
    "stream",
    "stream_scalars",
    "fetch",
    "fetchval",
    "fetchrow",
    "executemany",
    "add",
    "add_all",
    "merge",
}
RAW_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER)\s", re.DOTALL)

# Where SQL may be written besides the repositories, and why.
SQL_ALLOWED = {
    "tradematch.authz.scopes": "the scopes are SQL conditions (who may read what), by design",
    "tradematch.core.database": "the server's own lifecycle (CREATE DATABASE), not business data",
    "tradematch.core.orm": "server defaults of the table base class",
    "tradematch.kit.driver": "sends the statements repositories compiled, on the driver",
}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path

    @property
    def parts(self) -> list[str]:
        return self.name.split(".")[1:]  # without "tradematch"

    @property
    def package(self) -> str:
        return self.parts[0] if self.parts else ""

    @property
    def leaf(self) -> str:
        return self.parts[-1] if self.parts else ""

    @property
    def is_repository(self) -> bool:
        return self.leaf == "repository"

    @property
    def is_migration(self) -> bool:
        return self.package == "migrations"

    @property
    def is_table_definition(self) -> bool:
        return self.leaf == "models" or self.name == "tradematch.tables"

    @cache  # noqa: B019 (modules are few and live for the test run)
    def tree(self) -> ast.Module:
        return ast.parse(self.path.read_text(), str(self.path))


def modules() -> list[Module]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).with_suffix("")
        parts = [p for p in relative.parts if p != "__init__"]
        if parts[:2] == ["migrations", "versions"]:
            continue
        found.append(Module(".".join(["tradematch", *parts]), path))
    return found


def layer(name: str) -> int:
    parts = name.split(".")[1:]
    if not parts:
        return GROUND
    package, leaf = parts[0], parts[-1]
    if package in ("core", "kit") or name in ("tradematch.authz.roles", "tradematch.authz.actor"):
        return GROUND
    if package in ("tables", "migrations") or (len(parts) > 1 and leaf in TABLE_MODULES):
        return TABLES
    if package == "authz":
        return AUTHZ
    if package in FACES or leaf == "endpoints":
        return FACE
    if package in DOMAIN_LIKE_LOG:
        return LOG
    return DOMAIN


def imports(module: Module) -> Iterator[tuple[int, str]]:
    """Every ``tradematch`` module the module imports (lazily inside functions too)."""
    for node in ast.walk(module.tree()):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tradematch"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            if not node.module.startswith("tradematch"):
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (SRC / Path(*candidate.split(".")[1:])).with_suffix(".py").exists()
                is_package = (SRC / Path(*candidate.split(".")[1:]) / "__init__.py").exists()
                yield node.lineno, candidate if is_module or is_package else node.module


def test_the_layers_are_as_documented() -> None:
    """Spot checks that the classification above is the one the docstring describes."""
    assert layer("tradematch.core.config") == GROUND
    assert layer("tradematch.jobs.models") == TABLES
    assert layer("tradematch.authz.scopes") == AUTHZ
    assert layer("tradematch.events.log") == LOG
    assert layer("tradematch.jobs.service") == DOMAIN
    assert layer("tradematch.jobs.endpoints") == FACE
    assert layer("tradematch.worker.scheduler") == FACE


def test_imports_only_point_down() -> None:
    upward = []
    for module in modules():
        if module.is_migration:
            continue
        own = layer(module.name)
        for line, target in imports(module):
            if layer(target) > own:
                upward.append(
                    f"{module.path.relative_to(SRC)}:{line} ({LAYER_NAMES[own]}) imports "
                    f"{target} ({LAYER_NAMES[layer(target)]})"
                )
    assert upward == [], "\n".join(upward)


def test_no_module_reads_another_domains_repository() -> None:
    """A domain reaches another domain's data only through that domain's services (faces too:
    they call services)."""
    crossing = []
    for module in modules():
        for line, target in imports(module):
            parts = target.split(".")
            if parts[-1] != "repository" or parts[1] == "kit":
                continue
            if parts[1] != module.package:
                crossing.append(f"{module.path.relative_to(SRC)}:{line} imports {target}")
    assert crossing == [], "\n".join(crossing)


def _sqlalchemy_names(module: Module) -> set[str]:
    names = set()
    for node in ast.walk(module.tree()):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            names |= {alias.asname or alias.name for alias in node.names if alias.name in SQL_NAMES}
    return names


def sql_outside_repositories(module: Module) -> list[str]:
    found = []
    sql_names = _sqlalchemy_names(module)
    for node in ast.walk(module.tree()):
        if isinstance(node, ast.Name) and node.id in sql_names:
            found.append(f"{node.lineno}: {node.id}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_METHODS
            and isinstance(node.func.value, ast.Name | ast.Attribute)
            and _looks_like_a_connection(node.func.value)
        ):
            found.append(f"{node.lineno}: .{node.func.attr}()")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and RAW_SQL.match(node.value)
        ):
            found.append(f"{node.lineno}: {node.value.strip()[:40]!r}")
    return found


def _looks_like_a_connection(value: ast.expr) -> bool:
    name = value.id if isinstance(value, ast.Name) else getattr(value, "attr", "")
    return name.lstrip("_") in {"session", "conn", "connection", "db", "side", "late"}


def test_sql_lives_in_repositories() -> None:
    """Every SQL statement is in a ``repository.py`` (of the domain that owns the table)."""
    offenders = []
    for module in modules():
        if module.is_repository or module.is_migration or module.is_table_definition:
            continue
        if module.name in SQL_ALLOWED:
            continue
        where = module.path.relative_to(SRC)
        offenders += [f"{where}:{found}" for found in sql_outside_repositories(module)]
    assert offenders == [], "\n".join(offenders)


def _owner_of_models(module: Module) -> dict[str, str]:
    """Table model names imported by the module, and the package each comes from."""
    owners = {}
    for node in ast.walk(module.tree()):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith(".models"):
            package = (node.module or "").split(".")[1]
            for alias in node.names:
                owners[alias.asname or alias.name] = package
    return owners


def test_repositories_write_only_their_own_tables() -> None:
    """Reads may join another domain's table (to filter or label); writes never touch one."""
    offenders = []
    for module in modules():
        if not module.is_repository or module.package == "kit":
            continue
        owners = _owner_of_models(module)
        writers = {"insert", "update", "delete"} & _sqlalchemy_names(module) | {"pg_insert"}
        for node in ast.walk(module.tree()):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in writers or not node.args:
                continue
            target = node.args[0]
            if isinstance(target, ast.Name) and owners.get(target.id, module.package) not in (
                module.package,
            ):
                offenders.append(
                    f"{module.path.relative_to(SRC)}:{node.lineno} writes {target.id} "
                    f"({owners[target.id]}'s table)"
                )
    assert offenders == [], "\n".join(offenders)


def test_the_checks_see_sql_where_it_should_not_be() -> None:
    """The SQL check itself, on a service that queries a table directly."""
    offender = Module("tradematch.example.service", Path("example.py"))
    source = (
        "from sqlalchemy import select\n"
        "async def f(session):\n"
        "    rows = await session.execute(select(1))\n"
        "    await conn.fetch('SELECT 1')\n"
    )
    object.__setattr__(offender, "tree", lambda: ast.parse(source))
    found = sql_outside_repositories(offender)
    assert any("select" in f for f in found)
    assert any(".execute()" in f for f in found)
    assert any("'SELECT 1'" in f for f in found)


# Where a transaction may be begun or committed: the unit of work (and the migrations).
TRANSACTION_OWNERS = {
    "tradematch.events.unit_of_work": "the one way to open a writing transaction",
    "tradematch.events.log": "an event emitted outside a transaction begins one to belong to",
}


def test_only_the_unit_of_work_commits() -> None:
    """Requests, the scheduler, the dispatcher, web push, replays and commands all write through
    ``events.unit_of_work``: nothing else begins or commits a transaction (and so nothing can
    commit without writing its events)."""
    offenders = []
    for module in modules():
        if module.is_migration or module.name in TRANSACTION_OWNERS:
            continue
        for node in ast.walk(module.tree()):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("commit", "begin", "begin_nested")
            ):
                offenders.append(
                    f"{module.path.relative_to(SRC)}:{node.lineno}: .{node.func.attr}()"
                )
    assert offenders == [], "\n".join(offenders)
