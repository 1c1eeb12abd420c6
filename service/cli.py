"""The ``wushe`` command: serve, migrate, demo, create-key, worker, import, dispatch-run.

Errors are plain messages on stderr with a non-zero exit; nothing is written on bad input.
"""

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta

from service.config import InvalidSettings, get_settings


class CliError(Exception):
    """A mistake in what the operator typed: reported plainly, exit status 2."""


def _migrate() -> None:
    from service.migrate import upgrade

    upgrade(get_settings().database_url)


def _load_demo() -> bool:
    from service.db import get_sessionmaker
    from service.demo import load_demo

    with get_sessionmaker()() as session, session.begin():
        return load_demo(session)


def _issue_key(
    role: str,
    name: str,
    community_codes: Sequence[str],
    street_code: str | None,
    responder_id: str | None,
    days: int,
) -> str:
    from sqlalchemy import select

    from service.auth.models import ApiKey
    from service.auth.principal import Role, generate_key, hash_key
    from service.db import get_sessionmaker
    from service.places.models import Community, Street
    from service.types import utcnow

    try:
        role_value = Role(role)
    except ValueError:
        raise CliError(f"--role must be one of {', '.join(r.value for r in Role)}") from None
    if days <= 0:
        raise CliError("--days must be positive")
    with get_sessionmaker()() as session, session.begin():
        community_ids = []
        for code in community_codes:
            community_id = session.scalar(select(Community.id).where(Community.code == code))
            if community_id is None:
                raise CliError(f"unknown community code {code!r}")
            community_ids.append(community_id)
        street_id = None
        if street_code:
            street_id = session.scalar(select(Street.id).where(Street.code == street_code))
            if street_id is None:
                raise CliError(f"unknown street code {street_code!r}")
        if role_value is Role.dispatcher and not (community_ids or street_id):
            raise CliError("a dispatcher key needs --community or --street")
        if role_value is Role.responder and not responder_id:
            raise CliError("a responder key needs --responder-id")
        if role_value is Role.grid_app:
            raise CliError("grid_app keys name grids: issue them through POST /v1/api-keys")
        secret, prefix = generate_key()
        session.add(
            ApiKey(
                name=name,
                prefix=prefix,
                key_hash=hash_key(secret),
                role=role_value.value,
                community_ids=community_ids,
                street_id=street_id,
                responder_id=responder_id,
                expires_at=utcnow() + timedelta(days=days),
            )
        )
    return secret


def _demo_keys() -> list[str]:
    """Lines to print: a dispatcher key, then one key per demo responder, so a newcomer can
    play both sides of an offer from /docs."""
    from sqlalchemy import select

    from service.db import get_sessionmaker
    from service.demo import DEMO_COMMUNITY_CODE
    from service.places.models import Community
    from service.responders.models import Responder, ResponderCommunity

    dispatcher = _issue_key("dispatcher", "demo dispatcher", [DEMO_COMMUNITY_CODE], None, None, 30)
    lines = [f"Dispatcher key (shown once): {dispatcher}"]
    with get_sessionmaker()() as session:
        responders = session.execute(
            select(Responder.id, Responder.name, Responder.kind)
            .join(ResponderCommunity, ResponderCommunity.responder_id == Responder.id)
            .join(Community, Community.id == ResponderCommunity.community_id)
            .where(Community.code == DEMO_COMMUNITY_CODE)
            .order_by(Responder.id)
        ).all()
    for responder_id, name, kind in responders:
        key = _issue_key("responder", f"demo {name}", [], None, responder_id, 30)
        lines.append(f"  responder {name} ({kind}): {key}")
    return lines


def _serve(demo: bool, host: str, port: int) -> None:
    import uvicorn

    _migrate()
    if demo:
        _load_demo()
        print("Demo community loaded (东湖社区). Keys, shown once:")
        print("\n".join(_demo_keys()))
        print(f"Open http://{host}:{port}/docs, press Authorize, paste a key.")
    uvicorn.run("service.main:app", host=host, port=port, log_level="info", access_log=False)


def build_parser() -> argparse.ArgumentParser:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="wushe", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate and serve the API")
    serve.add_argument(
        "--demo", action="store_true", help="load the demo community and print a key"
    )
    serve.add_argument("--host", default=settings.host)
    serve.add_argument("--port", type=int, default=settings.port)
    commands.add_parser("migrate", help="upgrade the database to the latest schema")
    commands.add_parser("demo", help="load the demo community (idempotent) and print a key")
    commands.add_parser("worker", help="run batch dispatch runs (procrastinate worker; PostgreSQL)")
    key = commands.add_parser("create-key", help="issue an API key and print it once")
    key.add_argument("--role", required=True)
    key.add_argument("--name", default="cli key")
    key.add_argument("--community", action="append", default=[], help="community code (repeatable)")
    key.add_argument("--street", help="street code (dispatcher keys for a whole street)")
    key.add_argument("--responder-id")
    key.add_argument("--days", type=int, default=365, help="days until the key expires")
    purge = commands.add_parser(
        "purge",
        help="clear personal data of work closed longer ago than the retention period",
    )
    purge.add_argument(
        "--older-than-days",
        type=int,
        default=settings.retention_days,
        help="closed and untouched for this many days (default WUSHE_RETENTION_DAYS)",
    )
    commands.add_parser(
        "rotate-data-key",
        help="re-encrypt residents' notes with the first key of WUSHE_DATA_KEYS (see README)",
    )
    intake = commands.add_parser(
        "import", help="store a list of needs from a CSV or GeoJSON file (see the README)"
    )
    intake.add_argument("file", help="a .csv, .geojson or .json file")
    intake.add_argument("--community", required=True, help="community code")
    batch = commands.add_parser(
        "dispatch-run",
        help="start a batch dispatch run (a district's is split into parts over the workers)",
    )
    batch.add_argument(
        "--scope", required=True, help="district:ID-OR-CODE (or street:, community:, grid:)"
    )
    batch.add_argument("--mode", choices=["preview", "commit"], default="preview")
    batch.add_argument("--time-limit", type=int, default=10, help="seconds per part")
    batch.add_argument(
        "--follow", action="store_true", help="show progress until the run ends, then a summary"
    )
    return parser


def _dispatch_run(scope: str, mode: str, time_limit: int, show: bool) -> int:
    """Exit 0 when the run ended well (or was started, without --follow on PostgreSQL), 1 when
    it failed or was cancelled, 2 (CliError) when the scope or the run is refused."""
    from service.runs import follow, jobs

    _migrate()
    try:
        run_id = follow.start(scope, mode, time_limit)
    except follow.BadScope as exc:
        raise CliError(str(exc)) from None
    if not show and jobs.engine_name() == "procrastinate":
        print(f"run {run_id} queued; `wushe worker` processes execute it")
        return 0
    # on SQLite the run executes in this process: it is followed (quietly) to its end
    snap = follow.follow(run_id, show=show)
    jobs.wait_local()
    return 0 if snap["state"] in ("succeeded", "committed") else 1


def _rotate_data_key() -> int:
    from service.crypto import rotate_notes
    from service.db import get_engine

    try:
        with get_engine().begin() as connection:
            return rotate_notes(connection)
    except ValueError as exc:  # a note no key of WUSHE_DATA_KEYS can read
        raise CliError(str(exc)) from None


def _import(path: str, community_code: str) -> int:
    """Exit 0 when every row was stored or already there; 1 when some rows were refused
    (the others are stored); 2 (CliError) when the file or community cannot be used."""
    from pathlib import Path

    from sqlalchemy import select

    from service.auth.principal import SYSTEM
    from service.db import get_sessionmaker
    from service.errors import ProblemError
    from service.places.models import Community
    from service.requests import intake

    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise CliError(f"{path}: expected a .csv, .geojson or .json file")
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None
    _migrate()
    with get_sessionmaker()() as session:
        community_id = session.scalar(select(Community.id).where(Community.code == community_code))
        if community_id is None:
            raise CliError(f"unknown community code {community_code!r}")
        try:
            parse = intake.rows_from_csv if suffix == ".csv" else intake.rows_from_geojson
            done = intake.import_rows(session, SYSTEM, community_id, parse(content))
        except ProblemError as exc:
            session.rollback()
            raise CliError(f"{path}: {exc.detail}") from None
        session.commit()
    print(
        f"stored {len(done.stored)}, unchanged {len(done.unchanged)}, refused {len(done.rejected)}"
    )
    for r in done.rejected:
        print(f"row {r.row}: {r.field}: {r.reason}", file=sys.stderr)
    return 1 if done.rejected else 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()  # its defaults come from the settings, which may be bad
    except InvalidSettings as exc:
        print(f"wushe: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            _serve(args.demo, args.host, args.port)
        elif args.command == "migrate":
            _migrate()
            print("database at the latest schema")
        elif args.command == "demo":
            _migrate()
            loaded = _load_demo()
            print("demo community loaded" if loaded else "demo community already present")
            print("\n".join(_demo_keys()))
        elif args.command == "worker":
            from service.runs.jobs import run_worker

            try:
                run_worker()
            except RuntimeError as exc:
                raise CliError(str(exc)) from None
        elif args.command == "purge":
            if args.older_than_days < 0:
                raise CliError("--older-than-days must be 0 or more")
            _migrate()
            from service.db import get_sessionmaker
            from service.retention import purge as purge_old

            with get_sessionmaker()() as session:
                purged = purge_old(session, args.older_than_days)
                session.commit()
            print(f"purged {purged.requests} requests and {purged.residents} residents")
        elif args.command == "rotate-data-key":
            _migrate()
            print(f"re-encrypted {_rotate_data_key()} notes with the first key")
        elif args.command == "import":
            return _import(args.file, args.community)
        elif args.command == "dispatch-run":
            return _dispatch_run(args.scope, args.mode, args.time_limit, args.follow)
        elif args.command == "create-key":
            _migrate()
            secret = _issue_key(
                args.role, args.name, args.community, args.street, args.responder_id, args.days
            )
            print(secret)
    except (CliError, InvalidSettings) as exc:
        print(f"wushe: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
