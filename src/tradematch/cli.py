"""The ``tradematch`` command."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tradematch.core import signals
from tradematch.core.config import Settings, get_settings
from tradematch.core.signals import Terminated

if TYPE_CHECKING:
    from tradematch.escrow.ledger import EventMismatch
    from tradematch.events.checkpoints import CheckpointReport, Written
    from tradematch.events.verify import Report
    from tradematch.notifications.replay import ReplayReport

app = typer.Typer(
    help=(
        "TradeMatch connection layer. Configuration comes from TRADEMATCH_* environment "
        "variables:\n\n"
        + "\n\n".join(
            f"TRADEMATCH_{name.upper()}: {field.description or ''}"
            for name, field in Settings.model_fields.items()
        )
    ),
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
admin_app = typer.Typer(help="Administrator accounts.", no_args_is_help=True)
events_app = typer.Typer(help="The event log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(events_app, name="events")


async def _prepare_database(settings: Settings) -> str:
    from tradematch.core.database import resolve_database_url
    from tradematch.migrations import upgrade

    url = await resolve_database_url(settings)
    await upgrade(url)
    return url


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=256,
            help="API processes sharing the port (default: TRADEMATCH_WORKERS, else one per "
            "CPU). With more than one, the dispatcher and scheduler run in one more process.",
        ),
    ] = None,
    no_worker: Annotated[
        bool,
        typer.Option("--no-worker", help="Do not run the dispatcher and scheduler."),
    ] = False,
) -> None:
    """Apply migrations and serve the API (embedded PostgreSQL unless a URL is configured)."""
    import uvicorn

    from tradematch import serving
    from tradematch.core.http_protocol import ConfiguredProtocol
    from tradematch.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    processes = serving.worker_count(workers, settings)
    url = signals.run(_prepare_database(settings))
    settings.signing_key()  # a generated key is made once, here, not raced for by the processes
    application: object = serving.APP_FACTORY
    if processes == 1:
        from tradematch.app import create_app  # several processes: each child imports it

        application = create_app(settings, database_url=url, run_worker=not no_worker)
        serving.settle_heap(settings)
    signals.hang_up_as_terminate()  # uvicorn shuts down gracefully on SIGTERM and SIGINT only
    config = uvicorn.Config(
        application,  # type: ignore[arg-type]
        host=host,
        port=port,
        workers=processes,
        factory=processes > 1,
        # A child that does not answer the supervisor's ping in time is killed and replaced;
        # uvicorn's 5 s is too short for an interpreter starting on a busy machine.
        timeout_worker_healthcheck=60,
        log_config=None,
        ws_max_size=1 << 20,
        # X-Forwarded-For is believed only from the configured reverse proxies (uvicorn's own
        # default trusts 127.0.0.1, which would let anything local pick its address).
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips or "",
        # Connection limits (docs/security.md): a deadline and a size limit on each request head
        # (uvicorn has neither), idle keep-alive, and open connections per process.
        http=ConfiguredProtocol,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        limit_concurrency=settings.http_max_connections,
        # uvicorn waits for requests in flight without a limit by default; one client that stops
        # sending half-way through a body would hold the stop open until SIGKILL.
        timeout_graceful_shutdown=settings.http_shutdown_grace_seconds,
    )
    try:
        serving.run(config, database_url=url, background=not no_worker)
    except Terminated:
        # uvicorn shut down gracefully on SIGTERM/SIGINT and re-raised the signal: a clean stop.
        return


@app.command()
def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port (default: none).")
    ] = None,
) -> None:
    """Run the notification dispatcher and the scheduler until SIGTERM or SIGINT."""
    from tradematch.core.logging import configure_logging
    from tradematch.worker.runner import run_worker_process

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")

    async def run() -> None:
        await run_worker_process(settings, await _prepare_database(settings))

    signals.run(run())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    url = signals.run(_prepare_database(get_settings()))
    typer.echo(f"database at head ({_redact(url)})")


@admin_app.command("create")
def admin_create(
    email: Annotated[
        str | None, typer.Option(help="The administrator's email (prompted on a terminal).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Their name (prompted on a terminal).")] = None,
    phone: Annotated[str, typer.Option(help="Their UK phone number.")] = "07000000000",
    postcode: Annotated[str, typer.Option(help="Their UK postcode.")] = "SW1A 1AA",
    password: Annotated[
        str | None,
        typer.Option(
            help="Read from TRADEMATCH_ADMIN_PASSWORD, or prompted on a terminal if omitted.",
            envvar="TRADEMATCH_ADMIN_PASSWORD",
        ),
    ] = None,
) -> None:
    """Create an administrator account.

    Every value has a flag; a missing email, name or password is asked for only when the
    command runs on a terminal, so it runs unattended (scripts, containers) with the flags
    alone and fails with a clear message rather than waiting for input."""
    from pydantic import TypeAdapter, ValidationError

    from tradematch.accounts.schemas import Email, Password, Phone
    from tradematch.kit.postcodes import Postcode

    email = _ask(email, "--email", "Email")
    name = _ask(name, "--name", "Name")
    password = _ask(password, "--password", "Password", secret=True)
    try:
        values = {
            "email": TypeAdapter(Email).validate_python(email),
            "password": TypeAdapter(Password).validate_python(password),
            "phone": TypeAdapter(Phone).validate_python(phone),
            "postcode": TypeAdapter(Postcode).validate_python(postcode),
            "name": name.strip(),
        }
    except ValidationError as exc:
        typer.echo(f"invalid input: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    user_id = signals.run(_create_admin(values))
    typer.echo(user_id)


def _ask(value: str | None, flag: str, label: str, *, secret: bool = False) -> str:
    """``value``, or asked for on a terminal; without one, a usage error naming the flag."""
    import sys

    if value is not None:
        return value
    if not (sys.stdin is not None and sys.stdin.isatty()):
        typer.echo(f"{label} missing: give {flag} (no terminal to ask on)", err=True)
        raise typer.Exit(2)
    if secret:
        return getpass.getpass(f"{label}: ")
    answer: str = typer.prompt(label)
    return answer


async def _create_admin(values: dict[str, str]) -> str:
    from tradematch.accounts.service import create_user
    from tradematch.authz.roles import Role
    from tradematch.core.database import create_engine
    from tradematch.core.errors import AppError
    from tradematch.events.unit_of_work import unit_of_work
    from tradematch.sessions import create_sessionmaker

    engine = create_engine(await _prepare_database(get_settings()), pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            try:
                user = await create_user(session, role=Role.ADMIN, **values)
            except AppError as exc:
                typer.echo(exc.message, err=True)
                raise typer.Exit(1) from None
            return user.id
    finally:
        await engine.dispose()


@app.command()
def demo(
    base_url: Annotated[
        str | None,
        typer.Option(help="A running server; default: start one on a fresh embedded database."),
    ] = None,
    stay: Annotated[
        bool | None,
        typer.Option(
            "--stay/--no-stay",
            help="Keep the demo's own server running afterwards to look around the dashboards"
            " (default: when run from a terminal).",
        ),
    ] = None,
) -> None:
    """Drive the seed's nine-step flow through the real HTTP API, print every step, then the
    dashboard URL and demo accounts to sign in with."""
    import sys

    from tradematch.demo import run_demo

    run_demo(base_url, typer.echo, stay=sys.stdin.isatty() if stay is None else stay)


@events_app.command("verify")
def events_verify(
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="The signed checkpoints to hold the log to (default: TRADEMATCH_CHECKPOINT_DIR,"
            " or `checkpoints` in the data dir); point it at an operator's copy."
        ),
    ] = None,
) -> None:
    """Walk every job's hash chain and name the first event that does not match; hold the log
    to every signed checkpoint (truncated or rewritten chains); check every ledger transaction
    against the event that caused it. Exit 1 if anything is wrong."""
    report, anchored, mismatches = signals.run(_verify(checkpoints))
    for broken in report.breaks:
        typer.echo(
            f"BROKEN {broken.event_id} (seq {broken.seq}, job {broken.job_id}): {broken.reason}"
        )
    for mismatch in mismatches:
        typer.echo(
            f"MISMATCH {mismatch.transaction_id} (event {mismatch.event_id}, job "
            f"{mismatch.job_id}): {mismatch.reason}"
        )
    for finding in anchored.findings:
        chain = f"job {finding.job_id}" if finding.job_id else "the log"
        typer.echo(f"{finding.kind} {chain} (against {finding.checkpoint}): {finding.detail}")
    ok = report.ok and not mismatches and not anchored.findings
    typer.echo(
        f"{report.events} events in {report.chains} chains: {'ok' if report.ok else 'TAMPERED'}"
    )
    if anchored.checkpoints == 0:
        typer.echo("checkpoints: none found (truncation and rewrites cannot be detected)")
    else:
        verdict = "ok" if not anchored.findings else f"{len(anchored.findings)} FINDINGS"
        typer.echo(f"checkpoints: {anchored.checkpoints} checked: {verdict}")
    typer.echo(
        f"ledger against the log: {'ok' if not mismatches else f'{len(mismatches)} MISMATCHED'}"
    )
    if not ok:
        raise typer.Exit(1)


async def _verify(
    directory: Path | None,
) -> tuple[Report, CheckpointReport, list[EventMismatch]]:
    from tradematch.core.database import create_engine
    from tradematch.escrow.ledger import event_mismatches
    from tradematch.events.checkpoints import verify_checkpoints
    from tradematch.events.verify import verify_chains
    from tradematch.sessions import create_sessionmaker

    settings = get_settings()
    engine = create_engine(await _prepare_database(settings), pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            return (
                await verify_chains(session),
                await verify_checkpoints(
                    session, directory or settings.checkpoints_path(), settings.checkpoint_key()
                ),
                await event_mismatches(session),
            )
    finally:
        await engine.dispose()


@events_app.command("checkpoint")
def events_checkpoint() -> None:
    """Write a signed checkpoint of the chain heads now (the scheduler does it periodically)."""
    written = signals.run(_checkpoint())
    if written.path is None:
        typer.echo(f"nothing new since the last checkpoint (seq {written.max_seq})")
    else:
        typer.echo(f"{written.path} ({written.chains} chains, up to seq {written.max_seq})")


async def _checkpoint() -> Written:
    from tradematch.core.database import create_engine
    from tradematch.events.checkpoints import write_checkpoint
    from tradematch.sessions import create_sessionmaker

    settings = get_settings()
    engine = create_engine(await _prepare_database(settings), pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            return await write_checkpoint(
                session, settings.checkpoints_path(), settings.checkpoint_key()
            )
    finally:
        await engine.dispose()


@events_app.command("replay")
def events_replay(
    since: Annotated[int, typer.Option(help="First event sequence number (inclusive).")],
    until: Annotated[
        int | None, typer.Option(help="Last event sequence number (inclusive; default: all).")
    ] = None,
    revive_dead: Annotated[
        bool, typer.Option(help="Give dead notifications of the range a fresh set of attempts.")
    ] = True,
) -> None:
    """Queue again the notifications of a range of events (none is duplicated; sent stay sent)."""
    if until is not None and until < since:
        typer.echo("--until must not be below --since", err=True)
        raise typer.Exit(2)
    report = signals.run(_replay(since, until, revive_dead))
    typer.echo(
        f"{report.events} events replayed (to seq {report.last_seq}): "
        f"{report.queued} notifications queued, {report.revived} dead ones revived"
    )


async def _replay(since: int, until: int | None, revive_dead: bool) -> ReplayReport:
    from tradematch.core.database import create_engine
    from tradematch.notifications.replay import replay
    from tradematch.sessions import create_sessionmaker

    engine = create_engine(await _prepare_database(get_settings()), pool_size=1)
    try:
        return await replay(
            create_sessionmaker(engine), since=since, until=until, revive_dead=revive_dead
        )
    finally:
        await engine.dispose()


def _redact(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    from tradematch.core import embedded

    # Every way out (success, error, SIGTERM, SIGINT, SIGHUP) passes through the finally, so an
    # embedded PostgreSQL this process started is stopped unless another process still uses it.
    signals.install()
    try:
        app(prog_name="tradematch")
    finally:
        embedded.release_all()


if __name__ == "__main__":
    main()
