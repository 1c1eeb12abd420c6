"""Faults: the database crashes and comes back during live matching and during a batch run.

``python -m bench.fault_bench`` prints one row per scenario; tests/service/faults asserts on
the same figures. Each scenario gets a PostgreSQL server of its own (bench/private_pg.py), so
crashing it touches nothing else, and the real processes as deployed: the API (uvicorn,
background loop on) and, for batch runs, a ``wushe worker``.

- **load**: clients submit needs at a steady rate, each with an ``Idempotency-Key``, retrying
  the same body under the same key on 503, 409 (the first attempt still in flight) or a
  dropped connection, as a grid app does. Midway the server is killed (``pg_ctl -m
  immediate``: every connection drops mid-statement) and started a few seconds later.
- **batch (solving)**: a commit-mode run over the community's pending needs; the database
  crashes while the solver works and is back before it ends.
- **batch (writing)**: the database crashes while the solver works and stays away until the
  solver has finished, so the run's final transaction meets a dead database.

Checked afterwards, in the database, independently of the service: every need the service
accepted (201) is stored exactly once and nothing else; no responder beyond a cap and no
request in two live assignments (``load_bench.check_invariants``); a batch run either
committed its whole plan (as many live offers of the run as planned assignments) or nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import load_bench
from bench.private_pg import PrivatePostgres, binaries, wait_until

RETRY_LIMIT_S = 60.0
RECOVERY_LIMIT_S = 30.0
RUN_LIMIT_S = 150.0
RETRYABLE = {409, 503}
# what the worker logs when the run's final transaction meets a dead database (executor.py)
WRITE_WAITED = "database unreachable; writing the run's plan again"


@dataclass
class Fault:
    scenario: str
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key -> request id
    accept_s: list[float] = field(default_factory=list)  # from due time to the 201, retries in
    retry_after_missing: int = 0
    gave_up: list[str] = field(default_factory=list)
    ready_while_down: set[int | None] = field(default_factory=set)
    down_s: float = 0.0
    ready_after_s: float | None = None
    stored: int = 0
    duplicated: int = 0
    lost: int = 0
    unexpected: int = 0
    caps_exceeded: int = 0
    double_assigned: int = 0
    invariant_problems: list[str] = field(default_factory=list)
    process_alive: bool = True
    run: dict[str, Any] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("5") and s != "503")


# --- shared -----------------------------------------------------------------------------


def _world(pg: PrivatePostgres, name: str, responders: int) -> load_bench.World:
    from service.migrate import upgrade

    url = pg.create_database(name)
    upgrade(url)
    return load_bench.seed(url, responders=responders, seed_value=3)


async def _ready(client: httpx.AsyncClient) -> int | None:
    try:
        return (await client.get("/readyz", timeout=3)).status_code
    except httpx.TransportError:
        return None


async def _outage(
    base: str, pg: PrivatePostgres, fault: Fault, down_s: float, *, at: float = 0.0,
    until: Any = None,
) -> None:
    """Kill the database ``at`` seconds from now; start it ``down_s`` later (and not before
    ``until()`` is true, if given); watch /readyz meanwhile and until it is 200 again."""
    async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
        await asyncio.sleep(at)
        await asyncio.to_thread(pg.stop, "immediate")
        crashed = time.monotonic()
        while time.monotonic() < crashed + down_s or (until is not None and not await until()):
            fault.ready_while_down.add(await _ready(probe))
            await asyncio.sleep(0.3)
        await asyncio.to_thread(pg.start)
        back = time.monotonic()
        fault.down_s = back - crashed
        while time.monotonic() < back + RECOVERY_LIMIT_S:
            if await _ready(probe) == 200:
                fault.ready_after_s = time.monotonic() - back
                return
            await asyncio.sleep(0.2)


def _check(fault: Fault, url: str) -> None:
    exceeded, doubled, problems = load_bench.check_invariants(url)
    fault.caps_exceeded, fault.double_assigned = exceeded, doubled
    fault.invariant_problems = problems


def _start_worker(url: str, log: Any, solve_s: float) -> subprocess.Popen[bytes]:
    """``wushe worker`` whose solves last at least ``solve_s`` (bench/slow_worker.py), so the
    crash lands where the scenario says. Runs count as stale after 20 s of silence, longer
    than any outage here: a run is not taken from a worker that is only waiting."""
    env = {
        **os.environ, "DATABASE_URL": url, "WUSHE_RUNS_HEARTBEAT_S": "0.5",
        "WUSHE_RUNS_STALE_S": "20", "SLOW_SOLVE_S": str(solve_s),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bench.slow_worker"], env=env, stdout=log,
        stderr=subprocess.STDOUT,
    )


# --- live matching under load -------------------------------------------------------------


async def _submit(
    client: httpx.AsyncClient, due: float, body: dict[str, Any], key: str, fault: Fault
) -> None:
    await asyncio.sleep(max(0.0, due - time.monotonic()))
    deadline = time.monotonic() + RETRY_LIMIT_S
    while time.monotonic() < deadline:
        try:
            response = await client.post(
                "/v1/requests", json=body, headers={"Idempotency-Key": key}
            )
        except httpx.TransportError as exc:
            fault.statuses[type(exc).__name__] += 1
            await asyncio.sleep(0.5)
            continue
        fault.statuses[str(response.status_code)] += 1
        if response.status_code == 201:
            fault.accepted[key] = response.json()["id"]
            fault.accept_s.append(time.monotonic() - due)
            return
        if response.status_code not in RETRYABLE:
            fault.gave_up.append(f"{response.status_code} {response.text[:300]}")
            return
        if response.status_code == 503 and "retry-after" not in response.headers:
            fault.retry_after_missing += 1
        await asyncio.sleep(min(2.0, float(response.headers.get("retry-after", "1"))))
    fault.gave_up.append(f"{key}: no answer within {RETRY_LIMIT_S:.0f}s")


def load_fault(
    pg: PrivatePostgres, workdir: Path, *, rate: int = 12, seconds: int = 12,
    fault_at_s: float = 4.0, down_s: float = 3.0,
) -> Fault:
    fault = Fault("load: crash during live matching")
    world = _world(pg, "wushe_fault_load", responders=80)
    port = load_bench.free_port()
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(7)
    now = datetime.now(UTC)
    fault.sent = rate * seconds
    bodies = [load_bench.request_body(rng, world, n, now) for n in range(fault.sent)]
    keys = [f"fault-{uuid.uuid4()}" for _ in range(fault.sent)]

    async def drive() -> None:
        async with httpx.AsyncClient(
            base_url=base, headers={"X-API-Key": world.key}, timeout=20
        ) as client:
            start = time.monotonic() + 0.2
            await asyncio.gather(
                _outage(base, pg, fault, down_s, at=0.2 + fault_at_s),
                *(
                    _submit(client, start + i / rate, bodies[i], keys[i], fault)
                    for i in range(fault.sent)
                ),
            )

    with (workdir / "load-server.log").open("wb") as log:
        server = load_bench.start_server(world.database_url, port, log)
        try:
            load_bench.wait_ready(base, server)
            asyncio.run(drive())
            fault.process_alive = server.poll() is None
        finally:
            load_bench.stop_server(server)

    with psycopg.connect(world.database_url) as conn:
        rows = conn.execute("SELECT id, external_id FROM service_request").fetchall()
    stored = {r[0] for r in rows}
    accepted = set(fault.accepted.values())
    fault.stored = len(stored)
    fault.duplicated = len(rows) - len({r[1] for r in rows})
    fault.lost = len(accepted - stored)
    fault.unexpected = len(stored - accepted)
    _check(fault, world.database_url)
    return fault


# --- a batch run --------------------------------------------------------------------------


def _pending_needs(base: str, world: load_bench.World, count: int) -> None:
    """``count`` submitted needs waiting for a batch run (the community stops matching them
    one by one first)."""
    with psycopg.connect(world.database_url) as conn:
        conn.execute("UPDATE community SET auto_dispatch = false")
    rng = random.Random(11)
    now = datetime.now(UTC)
    with httpx.Client(base_url=base, headers={"X-API-Key": world.key}, timeout=30) as client:
        for n in range(count):
            response = client.post("/v1/requests", json=load_bench.request_body(rng, world, n, now))
            response.raise_for_status()


def _start_run(base: str, world: load_bench.World, mode: str) -> str:
    response = httpx.post(
        f"{base}/v1/dispatch-runs",
        headers={"X-API-Key": world.key},
        json={
            "scope": {"type": "community", "id": world.community_id},
            "mode": mode, "time_limit_s": 1,
        },
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["id"])


def _run_row(url: str, run_id: str) -> dict[str, Any] | None:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute(
                "SELECT state, phase, attempts, error, plan IS NOT NULL"
                " FROM dispatch_run WHERE id = %s",
                (run_id,),
            ).fetchone()
    except psycopg.OperationalError:
        return None
    if row is None:
        return None
    return {
        "state": row[0], "phase": row[1], "attempts": row[2], "error": row[3],
        "has_plan": row[4],
    }


def batch_fault(
    pg: PrivatePostgres, workdir: Path, *, when: str = "solving", needs: int = 150,
    solve_s: float = 4.0, down_s: float = 3.0,
) -> Fault:
    """The database crashes 1 s into a solve that lasts ``solve_s``; ``when`` = solving: it is
    back ``down_s`` later, before the solver is done; writing: it is back seconds after
    the solver is done, so the run's final transaction first meets a dead database."""
    fault = Fault(f"batch: crash while {when}")
    if when == "solving":
        solve_s = max(solve_s, down_s + 6.0)  # still solving well after the database is back
    world = _world(pg, f"wushe_fault_batch_{when}", responders=60)
    port = load_bench.free_port()
    base = f"http://127.0.0.1:{port}"
    url = world.database_url
    with (
        (workdir / f"batch-{when}-server.log").open("wb") as server_log,
        (workdir / f"batch-{when}-worker.log").open("wb") as worker_log,
    ):
        server = load_bench.start_server(url, port, server_log)
        worker = None
        try:
            load_bench.wait_ready(base, server)
            _pending_needs(base, world, needs)
            worker = _start_worker(url, worker_log, solve_s)
            run_id = _start_run(base, world, "commit")
            fault.sent = needs
            if not wait_until(
                lambda: (_run_row(url, run_id) or {}).get("phase") == "solving", 60
            ):
                raise RuntimeError(f"run never started solving: {_run_row(url, run_id)}")
            solving_since = time.monotonic()
            # writing: back well after the solver is done (its own work takes a second or two)
            outage = down_s if when == "solving" else solve_s + 6.0
            fault.run["solve_s"] = solve_s

            async def crash() -> None:
                await _outage(base, pg, fault, outage, at=1.0)

            asyncio.run(crash())
            fault.run["crashed_after_solving_s"] = round(time.monotonic() - solving_since, 1)
            wait_until(
                lambda: (_run_row(url, run_id) or {}).get("state")
                in ("committed", "failed", "cancelled"),
                RUN_LIMIT_S, every=0.5,
            )
            # the worker is still there and still works: a run started after the outage runs
            after = _start_run(base, world, "preview")
            wait_until(
                lambda: (_run_row(url, after) or {}).get("state") in ("succeeded", "failed"),
                RUN_LIMIT_S, every=0.5,
            )
            fault.run["next_run"] = (_run_row(url, after) or {}).get("state")
            fault.process_alive = worker.poll() is None and server.poll() is None
        finally:
            if worker is not None:
                load_bench.stop_server(worker)
            load_bench.stop_server(server)

    with psycopg.connect(url) as conn:
        state, attempts, error, planned = conn.execute(
            "SELECT state, attempts, error,"
            " (SELECT count(*) FROM json_array_elements(plan->'assignments') a"
            "  WHERE NOT coalesce((a->>'fixed')::boolean, false))"
            " FROM dispatch_run WHERE id = %s",
            (run_id,),
        ).fetchone()
        offered = conn.execute(
            "SELECT count(*) FROM assignment WHERE state = 'offered'"
        ).fetchone()[0]
        committed = conn.execute(
            "SELECT coalesce(plan->'commit'->>'offered', '0')::int FROM dispatch_run"
            " WHERE id = %s",
            (run_id,),
        ).fetchone()[0]
    worker_log = (workdir / f"batch-{when}-worker.log").read_text(errors="replace")
    fault.run.update(
        final_write_waited=WRITE_WAITED in worker_log,
        state=state, attempts=attempts, error=(error or "")[:120], planned=planned or 0,
        offered=offered, commit_offered=committed,
    )
    _check(fault, url)
    return fault


# --- report -------------------------------------------------------------------------------


def table(faults: list[Fault]) -> str:
    head = (
        "| scenario | needs | 201 | 503 | dropped conn. | other 5xx | p50 / p99 / max s to 201 |"
        " down s | ready after s | lost | duplicated | caps exceeded | double-assigned | run |\n"
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|\n"
    )
    rows = []
    for f in faults:
        dropped = sum(n for s, n in f.statuses.items() if not s.isdigit())
        ready = f"{f.ready_after_s:.1f}" if f.ready_after_s is not None else "never"
        if f.run.get("state"):
            r = f.run
            run = (
                f"{r['state']} after {r['attempts']} attempt(s); planned {r['planned']}, live"
                f" offers {r['offered']}; final write"
                f" {'waited' if r['final_write_waited'] else 'direct'};"
                f" next run {r.get('next_run')}"
            )
            live = "– | – | – | – | –"
        else:
            run = "–"
            took = sorted(f.accept_s) or [float("nan")]
            spread = " / ".join(
                f"{took[min(len(took) - 1, int(q * len(took)))]:.2f}" for q in (0.5, 0.99)
            ) + f" / {took[-1]:.2f}"
            live = (
                f"{f.statuses['201']} | {f.statuses['503']} | {dropped} | {f.server_errors}"
                f" | {spread}"
            )
        rows.append(
            f"| {f.scenario} | {f.sent} | {live} | {f.down_s:.1f} | {ready} | {f.lost}"
            f" | {f.duplicated} | {f.caps_exceeded} | {f.double_assigned} | {run} |"
        )
    return head + "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="load,solving,writing")
    args = parser.parse_args(argv)
    bindir = binaries()
    if bindir is None:
        print("PostgreSQL's server binaries (initdb, pg_ctl) are not installed", file=sys.stderr)
        return 2
    os.environ.setdefault("WUSHE_ENVIRONMENT", "test")
    faults = []
    for scenario in args.scenarios.split(","):
        root = Path(tempfile.mkdtemp(prefix="wushe-fault-"))
        pg = PrivatePostgres(Path(tempfile.mkdtemp(prefix="wushe-pg-")), bindir)
        pg.init()
        pg.start()
        try:
            if scenario == "load":
                faults.append(load_fault(pg, root))
            else:
                faults.append(batch_fault(pg, root, when=scenario))
        finally:
            pg.close()
        print(f"{scenario}: logs in {root}", file=sys.stderr)
    print(table(faults))
    return 0


if __name__ == "__main__":
    sys.exit(main())
