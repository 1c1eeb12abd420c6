"""Live-matching load benchmark: `python -m bench.load_bench [--rates 50,100,200] [--seconds 10]`.

Against a fresh PostgreSQL database (created on 127.0.0.1:5432, dropped at the end) seeded
with one auto-dispatching community around Pinghu and ``--responders`` responders, it starts
the API as a separate uvicorn process and, from this process over loopback, submits
``POST /v1/requests`` at each fixed rate for a bounded time.  The schedule is open-loop:
request *i* is due at ``start + i / rate`` whatever happened to earlier ones, and its latency
is measured from that due time, so time spent waiting for one of the bounded client
connections counts.  Afterwards the database is checked: no responder beyond a cap (tasks,
minutes and load per day, tasks per week) and no request in two live assignments.

``--against DIR`` runs another checkout of the service (an older commit in a git worktree,
say) side by side with this one instead: each on its own database seeded alike, each sent
every rate at the same moments, so the machine's drift from one minute to the next falls on
both; the table gives each one's latency and server CPU, and their ratio.

Server-side time per request is read from the service's own Prometheus histograms
(``wushe_live_match_seconds``: match_one plus writing the offer; ``wushe_solve_seconds``
kind="live": building the MatchState and match_one alone), so the table says where the time
goes.  Everything is bounded: request count = rate × seconds, a per-request timeout, a drain
limit, and the server and database are removed even on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httptools
import httpx
import psycopg
from sqlalchemy import insert, text

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CENTRE = (121.02, 30.70)  # Pinghu, lon/lat
LOCAL = ZoneInfo("Asia/Shanghai")
CATEGORIES = ("medicine_delivery", "elder_care_visit")
REFERENCE_PATH = "/v1/service-categories?limit=1"
CONNECTIONS = 64
REQUEST_TIMEOUT_S = 30.0
DRAIN_LIMIT_S = 60.0
READY_LIMIT_S = 60.0
WARMUP = 20
# Idle connections older than this are not reused (the server's keep-alive time is 5 s).
KEEP_ALIVE_REUSE_S = 3.0
METRE_LAT = 1 / 111_320
METRE_LON = 1 / (111_320 * math.cos(math.radians(CENTRE[1])))


@dataclass
class World:
    database_url: str
    community_id: str
    grid_ids: list[str]
    key: str


@dataclass
class RateResult:
    rate: int
    seconds: float
    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    queued_reasons: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    server: dict[str, float] = field(default_factory=dict)
    caps_exceeded: int = 0
    double_assigned: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))

    @property
    def ok(self) -> int:
        return self.sent - self.errors


# --- database ---------------------------------------------------------------------------


def create_database() -> str:
    name = f"wushe_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _around(rng: random.Random, sigma_m: float) -> tuple[float, float]:
    dx, dy = rng.gauss(0, sigma_m), rng.gauss(0, sigma_m)
    return CENTRE[0] + dx * METRE_LON, CENTRE[1] + dy * METRE_LAT


def _responder_row(rng: random.Random, n: int, community_id: str) -> dict[str, Any]:
    from service.types import new_id

    draw = rng.random()
    kind = "volunteer" if draw < 0.85 else "social_worker" if draw < 0.97 else "community_staff"
    lon, lat = _around(rng, 2_500)
    row: dict[str, Any] = {
        "id": new_id(),
        "kind": kind,
        "name": f"responder {n}",
        "phone": f"139{n:08d}",
        "lon": lon,
        "lat": lat,
        "radius_m": rng.choice((1_500, 2_000, 3_000, 3_000, 5_000)),
        "travel_mode": "ebike",
        "speed_kmh": 15.0,
        "qualifications": ["medicine"] if rng.random() < 0.3 else [],
        "skills": [],
        "licence_level": "none",
        "volunteer_groups": ["daily_care"] if kind == "volunteer" else [],
        "service_categories": [],
        "registered_name": None,
        "slots_per_day": None,
        # Every day, all day: the run may be at any hour and must not be starved by shifts.
        "weekly_shifts": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
        "shift_exceptions": [],
        "max_tasks_per_day": rng.randint(3, 6),
        "max_minutes_per_day": rng.choice((240, 360, 480)),
        "max_tasks_per_week": rng.choice((None, 20, 30)),
        "load_capacity": 10,
        "zone_clearances": [],
        "active": True,
    }
    if kind == "social_worker":
        row["licence_level"] = rng.choice(("assistant", "intermediate", "senior"))
    return row


def seed(database_url: str, responders: int, seed_value: int) -> World:
    """One auto-dispatching district/street/community, grids, responders and a key (bulk ORM)."""
    from sqlalchemy.orm import Session

    from service.auth.models import ApiKey
    from service.auth.principal import Role, generate_key, hash_key
    from service.db import make_engine
    from service.places.models import Community, District, Grid, Street
    from service.responders.models import Responder, ResponderCommunity

    rng = random.Random(seed_value)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            district = District(code="330482", name="平湖市", lon=CENTRE[0], lat=CENTRE[1])
            session.add(district)
            session.flush()
            street = Street(
                district_id=district.id, code="330482001", name="当湖街道", lon=CENTRE[0],
                lat=CENTRE[1],
            )
            session.add(street)
            session.flush()
            community = Community(
                street_id=street.id, code="330482001001", name="东湖社区", lon=CENTRE[0],
                lat=CENTRE[1], auto_dispatch=True,
            )
            session.add(community)
            session.flush()
            grids = [
                Grid(
                    community_id=community.id, code=f"330482001001-G{n}", name=f"第{n}网格",
                    lon=CENTRE[0] + 0.01 * (n - 2), lat=CENTRE[1],
                )
                for n in range(1, 5)
            ]
            session.add_all(grids)
            session.flush()
            rows = [_responder_row(rng, n, community.id) for n in range(responders - 2)]
            for n in range(2):  # two elder-care organizations with their own daily slots
                lon, lat = _around(rng, 1_000)
                org = _responder_row(rng, responders + n, community.id)
                org.update(
                    kind="organization", name=f"颐养中心{n + 1}", lon=lon, lat=lat,
                    registered_name=f"平湖市颐养服务中心{n + 1}", radius_m=5_000,
                    service_categories=["elder_care_visit", "meal_delivery"],
                    slots_per_day=20, max_tasks_per_day=30, max_minutes_per_day=None,
                    volunteer_groups=[],
                )
                rows.append(org)
            session.execute(insert(Responder), rows)
            session.execute(
                insert(ResponderCommunity),
                [{"responder_id": r["id"], "community_id": community.id} for r in rows],
            )
            secret, prefix = generate_key()
            session.add(
                ApiKey(
                    name="load bench dispatcher", prefix=prefix, key_hash=hash_key(secret),
                    role=Role.dispatcher.value, community_ids=[community.id],
                )
            )
            session.commit()
            return World(database_url, community.id, [g.id for g in grids], secret)
    finally:
        engine.dispose()


def check_invariants(database_url: str) -> tuple[int, int, list[str]]:
    """(caps exceeded, requests double-assigned, descriptions) over every counted assignment.

    Independent of the service's own counting: plain SQL, grouped by the local day (and ISO
    week) of the request's window start, as the adapter defines the day work counts toward.
    """
    from service.db import make_engine

    engine = make_engine(database_url)
    problems: list[str] = []
    try:
        with engine.connect() as conn:
            caps = conn.execute(
                text(
                    """
                    SELECT id, kind, max_tasks_per_day, slots_per_day, max_minutes_per_day,
                           max_tasks_per_week, max_minutes_per_week, load_capacity
                    FROM responder
                    """
                )
            ).all()
            work = conn.execute(
                text(
                    """
                    SELECT a.responder_id, r.window_start, r.duration_min,
                           coalesce(a.travel_minutes, 0), r.quantity
                    FROM assignment a JOIN service_request r ON r.id = a.request_id
                    WHERE a.state IN ('offered', 'accepted', 'in_progress', 'completed')
                    """
                )
            ).all()
            doubles = conn.execute(
                text(
                    """
                    SELECT request_id, count(*) FROM assignment
                    WHERE state IN ('offered', 'accepted', 'in_progress')
                    GROUP BY request_id HAVING count(*) > 1
                    """
                )
            ).all()
    finally:
        engine.dispose()
    day: dict[tuple[str, Any], list[int]] = defaultdict(lambda: [0, 0, 0])
    week: dict[tuple[str, Any], list[int]] = defaultdict(lambda: [0, 0])
    for responder_id, start, duration, travel, quantity in work:
        local = start.astimezone(LOCAL).date()
        minutes = duration + 2 * travel
        d = day[(responder_id, local)]
        d[0] += 1
        d[1] += minutes
        d[2] += quantity
        w = week[(responder_id, local.isocalendar()[:2])]
        w[0] += 1
        w[1] += minutes
    by_id = {c.id: c for c in caps}
    exceeded = 0
    for (rid, when), (tasks, minutes, load) in day.items():
        c = by_id[rid]
        task_cap = min(
            (x for x in (c.max_tasks_per_day, c.slots_per_day if c.kind == "organization"
                         else None) if x is not None),
            default=None,
        )
        for name, cap, used in (
            ("tasks/day", task_cap, tasks),
            ("minutes/day", c.max_minutes_per_day, minutes),
            ("load/day", c.load_capacity, load),
        ):
            if cap is not None and used > cap:
                exceeded += 1
                problems.append(f"responder {rid} {when}: {name} {used} > {cap}")
    for (rid, when), (tasks, minutes) in week.items():
        c = by_id[rid]
        for name, cap, used in (
            ("tasks/week", c.max_tasks_per_week, tasks),
            ("minutes/week", c.max_minutes_per_week, minutes),
        ):
            if cap is not None and used > cap:
                exceeded += 1
                problems.append(f"responder {rid} week {when}: {name} {used} > {cap}")
    problems += [f"request {rid}: {n} live assignments" for rid, n in doubles]
    return exceeded, len(doubles), problems


# --- server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, port: int, log: Any,
                 workers: int = 1, code: str | None = None) -> subprocess.Popen[bytes]:
    """The API as deployed: the background loop on (offer timeouts, warm-state rebuilds on a
    thread). ``code``: a checkout of the service to run instead of this one."""
    env = {**os.environ, "DATABASE_URL": database_url, "WUSHE_BACKGROUND": "true"}
    env.pop("WUSHE_METRICS_TOKEN", None)
    if code is not None:
        env["PYTHONPATH"] = code
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--workers", str(workers)],
        env=env, cwd=code, stdout=log, stderr=subprocess.STDOUT,
    )


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_LIMIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with status {server.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready after {READY_LIMIT_S:.0f}s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


_SAMPLE = re.compile(
    r"^(wushe_live_match_seconds|wushe_solve_seconds|wushe_warm_build_seconds)_(sum|count)"
    r"(\{[^}]*\})? (\S+)$"
)


def scrape(base: str) -> dict[str, float] | None:
    """Sums and counts of the live-matching histograms, from the service's /metrics (None if
    a saturated server does not answer in time)."""
    out: dict[str, float] = {}
    try:
        body = httpx.get(f"{base}/metrics", timeout=10).text
    except httpx.HTTPError:
        return None
    for line in body.splitlines():
        m = _SAMPLE.match(line)
        if m and (m.group(1) != "wushe_solve_seconds" or 'kind="live"' in (m.group(3) or "")):
            out[f"{m.group(1)}_{m.group(2)}"] = float(m.group(4))
    return out


# --- CPU accounting -----------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _tree(pid: int) -> list[int]:
    """A process and its descendants (uvicorn's worker processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in os.listdir(f"/proc/{p}/task") if os.path.isdir(f"/proc/{p}/task") else ():
            try:
                with open(f"/proc/{p}/task/{task}/children", encoding="ascii") as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
    return out


def _postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm", encoding="ascii") as f:
                    if f.read().strip() == "postgres":
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server's processes, this client and PostgreSQL's
    processes (all of them: the machine is meant to be otherwise quiet). Differences of two
    snapshots, divided by the requests answered, say where a request's CPU goes."""
    mine = os.times()
    return {
        "server": sum(_proc_cpu(p) for p in _tree(server_pid)),
        "client": mine.user + mine.system,
        "database": sum(_proc_cpu(p) for p in _postgres_pids()),
    }


# --- load -------------------------------------------------------------------------------


def request_body(rng: random.Random, world: World, n: int, now: datetime) -> dict[str, Any]:
    lon, lat = _around(rng, 1_200)
    start = now + timedelta(minutes=rng.randint(5, 30))
    return {
        "community_id": world.community_id,
        "grid_id": rng.choice(world.grid_ids),
        "category_code": rng.choice(CATEGORIES),
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=rng.randint(2, 4))).isoformat(),
        "urgency": rng.choice(("normal", "normal", "normal", "urgent")),
        "external_id": f"load-{n}",
    }


class _Reply:
    """httptools callbacks for one response: its body, whether it is complete, and whether
    the server closes the connection after it."""

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.done = False
        self.close = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"connection" and value.lower() == b"close":
            self.close = True

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        self.done = True


class LeanClient:
    """Keep-alive HTTP/1.1 connections to one host, at most ``size`` at once.

    The load client shares the machine's two cores with the server and the database, so it
    should cost as little as it can: requests are pre-serialised bytes, responses are parsed
    by httptools (the C parser uvicorn uses), and nothing else is done per request. httpx
    took about 2.5 ms of CPU per request here, this about a tenth of that."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        # (reader, writer, when it was last used), most recently used last.
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.gate = asyncio.Semaphore(size)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """An idle connection the server still keeps open, or a new one. The server closes a
        connection idle for its keep-alive time (uvicorn: 5 s); a request sent on it just as
        it closes is lost, so connections idle nearly that long are not reused."""
        now = time.monotonic()
        while self.idle:
            reader, writer, used = self.idle.pop()
            if now - used < KEEP_ALIVE_REUSE_S:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def exchange(self, raw: bytes, timeout: float) -> tuple[int, bytes]:
        """Send one request (its bytes as they go on the wire); the status and body."""
        async with self.gate:
            conn = await self._connection()
            try:
                status, body, close = await asyncio.wait_for(self._roundtrip(conn, raw), timeout)
            except BaseException:
                conn[1].close()
                raise
            if close:
                conn[1].close()
            else:
                self.idle.append((*conn, time.monotonic()))
            return status, body

    @staticmethod
    async def _roundtrip(
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes
    ) -> tuple[int, bytes, bool]:
        reader, writer = conn
        writer.write(raw)
        reply = _Reply()
        parser = httptools.HttpResponseParser(reply)
        while not reply.done:
            chunk = await reader.read(65_536)
            if not chunk:
                raise ConnectionError("the server closed the connection mid-response")
            parser.feed_data(chunk)
        return parser.get_status_code(), b"".join(reply.body), reply.close

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


def wire_request(method: str, path: str, host: str, key: str, body: bytes | None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"X-API-Key: {key}"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (body or b"")


async def _one(
    client: LeanClient, due: float, raw: bytes, reference: bool, result: RateResult,
) -> None:
    await asyncio.sleep(max(0.0, due - time.perf_counter()))
    try:
        status, body = await client.exchange(raw, REQUEST_TIMEOUT_S)
    except (TimeoutError, OSError, httptools.HttpParserError) as exc:
        result.statuses[f"exception {type(exc).__name__}"] += 1
        return
    finally:
        result.latencies_ms.append((time.perf_counter() - due) * 1000)
    result.statuses[str(status)] += 1
    if status == 201 and not reference:
        dispatch = json.loads(body).get("dispatch") or {}
        outcome = dispatch.get("outcome", "none")
        result.outcomes[outcome] += 1
        if outcome == "queued":
            result.queued_reasons[dispatch.get("reason") or "?"] += 1


async def run_rate(
    base: str, world: World, rate: int, seconds: float, rng: random.Random, first: int,
    count_it: bool = True, reference: bool = False,
) -> RateResult:
    result = RateResult(rate, seconds)
    total = max(1, int(rate * seconds))
    host, port = base.removeprefix("http://").split(":")
    client = LeanClient(host, int(port), CONNECTIONS)
    now = datetime.now(UTC)
    # Serialised before the clock starts: the client's own work stays off the schedule.
    raws = [
        wire_request("GET", REFERENCE_PATH, host, world.key, None) if reference
        else wire_request("POST", "/v1/requests", host, world.key,
                          json.dumps(request_body(rng, world, first + i, now)).encode())
        for i in range(total)
    ]
    start = time.perf_counter() + 0.2
    tasks = [
        asyncio.create_task(_one(client, start + i / rate, raws[i], reference, result))
        for i in range(total)
    ]
    done, pending = await asyncio.wait(tasks, timeout=seconds + DRAIN_LIMIT_S)
    for task in pending:
        task.cancel()
    if pending:
        result.statuses["unfinished (drain limit)"] += len(pending)
    result.elapsed_s = time.perf_counter() - start
    client.close()
    result.sent = total
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def table(results: list[RateResult]) -> str:
    lines = [
        "| target req/s | sent | achieved req/s | p50 ms | p95 ms | p99 ms | max ms | errors "
        "| offered % | server live match ms (mean) | of which solve ms (mean) | caps exceeded "
        "| double assignments | CPU ms/request: server | client | database "
        "| warm-state builds (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ok = r.ok
        offered = 100 * r.outcomes["offered"] / ok if ok else 0.0
        s = r.server
        nan = float("nan")
        lm = 1000 * s.get("live_sum", 0) / s["live_count"] if s.get("live_count") else nan
        sv = 1000 * s.get("solve_sum", 0) / s["solve_count"] if s.get("solve_count") else nan
        lines.append(
            f"| {r.rate} | {r.sent} | {ok / r.elapsed_s:.1f} "
            f"| {percentile(r.latencies_ms, 50):.0f} "
            f"| {percentile(r.latencies_ms, 95):.0f} | {percentile(r.latencies_ms, 99):.0f} "
            f"| {max(r.latencies_ms, default=float('nan')):.0f} | {r.errors} | {offered:.1f} "
            f"| {lm:.1f} | {sv:.1f} | {r.caps_exceeded} | {r.double_assigned} "
            f"{_cpu_cells(r)}| {_builds_cell(s)} |"
        )
    return "\n".join(lines)


def reference_table(references: list[RateResult], results: list[RateResult]) -> str:
    lines = [
        f"| target req/s | reference `GET {REFERENCE_PATH}` achieved req/s | reference p50 ms "
        "| reference p99 ms | reference errors | POST p99 / reference p99 "
        "| CPU ms/request: server | client | database |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ref, res in zip(references, results, strict=True):
        p99 = percentile(ref.latencies_ms, 99)
        ratio = percentile(res.latencies_ms, 99) / p99 if p99 else float("nan")
        lines.append(
            f"| {ref.rate} | {ref.ok / ref.elapsed_s:.1f} | {percentile(ref.latencies_ms, 50):.0f} "
            f"| {p99:.0f} | {ref.errors} | {ratio:.1f} {_cpu_cells(ref)}|"
        )
    return "\n".join(lines)


def quiesce(base: str, limit_s: float = 60.0) -> None:
    """Wait (bounded) until the server stops finishing matches: requests the client gave up on
    still run to the end server-side and would otherwise spill into the next rate."""
    deadline = time.monotonic() + limit_s
    last = -1.0
    while time.monotonic() < deadline:
        sample = scrape(base)
        count = sample.get("wushe_live_match_seconds_count", 0.0) if sample else None
        if count is not None and count == last:
            return
        last = -1.0 if count is None else count
        time.sleep(3)
    print(f"server still busy after {limit_s:.0f}s; the next rate starts on a loaded server",
          file=sys.stderr)


def _delta(before: dict[str, float] | None, after: dict[str, float] | None) -> dict[str, float]:
    if before is None or after is None:
        return {}
    names = {
        "live_sum": "wushe_live_match_seconds_sum", "live_count": "wushe_live_match_seconds_count",
        "solve_sum": "wushe_solve_seconds_sum", "solve_count": "wushe_solve_seconds_count",
        "builds": "wushe_warm_build_seconds_count", "build_sum": "wushe_warm_build_seconds_sum",
    }
    return {k: after.get(v, 0.0) - before.get(v, 0.0) for k, v in names.items()}


def _builds_cell(server: dict[str, float]) -> str:
    """Warm-state builds during the rate's run (first use, stale or expired) and their time."""
    if "builds" not in server:
        return "–"
    return f"{server['builds']:.0f} ({server.get('build_sum', 0.0):.1f})"


def _cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in before}


def _cpu_cells(r: RateResult) -> str:
    """CPU milliseconds per answered request: server, client, database."""
    if not r.ok or not r.cpu:
        return "| – | – | – "
    return "".join(f"| {1000 * r.cpu[k] / r.ok:.1f} " for k in ("server", "client", "database"))


@dataclass
class Side:
    """One of the two servers of a side-by-side run."""

    label: str
    code: str | None
    name: str = ""
    world: World | None = None
    server: subprocess.Popen[bytes] | None = None
    base: str = ""
    log: Any = None


def compare(args: argparse.Namespace, rates: list[int]) -> int:
    """``--against DIR``: this checkout's server and one run from DIR (another checkout of the
    service, importable with this environment), side by side. Each has its own database,
    seeded alike, and gets the same schedule at the same moments, so the machine's drift from
    minute to minute (as large as the changes measured) falls on both. The database's CPU
    cannot be told apart and is given for both together."""
    from service.migrate import upgrade

    sides = [Side("this checkout", None), Side(f"against {args.against}", args.against)]
    try:
        for side in sides:
            side.name = create_database()
            url = f"postgresql://postgres@127.0.0.1:5432/{side.name}"
            upgrade(url)
            side.world = seed(url, args.responders, args.seed)
            port = free_port()
            side.base = f"http://127.0.0.1:{port}"
            side.log = tempfile.NamedTemporaryFile(prefix="wushe_load_server_", suffix=".log")
            side.server = start_server(url, port, side.log, args.workers, side.code)
        for side in sides:
            assert side.server is not None and side.world is not None
            wait_ready(side.base, side.server)
            asyncio.run(run_rate(side.base, side.world, 10, WARMUP / 10,
                                 random.Random(args.seed), 10_000_000))
        rows = []
        for k, rate in enumerate(rates):
            for side in sides:
                quiesce(side.base)
            before = [cpu_snapshot(side.server.pid) for side in sides]  # type: ignore[union-attr]

            async def both(rate: int = rate, k: int = k) -> list[RateResult]:
                return list(await asyncio.gather(*(
                    run_rate(side.base, side.world, rate, args.seconds,  # type: ignore[arg-type]
                             random.Random(args.seed + k), k * 1_000_000)
                    for side in sides)))

            results = asyncio.run(both())
            for side in sides:
                quiesce(side.base)
            after = [cpu_snapshot(side.server.pid) for side in sides]  # type: ignore[union-attr]
            database = after[0]["database"] - before[0]["database"]
            for side, result, b, a in zip(sides, results, before, after, strict=True):
                result.cpu = _cpu_delta(b, a)
                result.caps_exceeded, result.double_assigned, _ = check_invariants(
                    f"postgresql://postgres@127.0.0.1:5432/{side.name}")
            answered = sum(r.ok for r in results)
            rows.append((rate, results, 1000 * database / answered if answered else math.nan))
        print(compare_table(sides, rows))
        return 0 if not any(r.caps_exceeded or r.double_assigned
                            for _, results, _ in rows for r in results) else 1
    finally:
        for side in sides:
            if side.server is not None:
                stop_server(side.server)
            if side.log is not None:
                side.log.close()
            if side.name:
                drop_database(side.name)


def compare_table(sides: list[Side], rows: list[tuple[int, list[RateResult], float]]) -> str:
    lines = [
        "| req/s to each | server | achieved req/s | p50 ms | p95 ms | p99 ms | errors "
        "| caps exceeded | double assignments | server CPU ms/request | database CPU ms/request "
        "(both) | server CPU: this / against |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rate, results, database in rows:
        cpu = [1000 * r.cpu["server"] / r.ok if r.ok else math.nan for r in results]
        for side, r, c in zip(sides, results, cpu, strict=True):
            lat = r.latencies_ms
            lines.append(
                f"| {rate} | {side.label} | {r.ok / r.elapsed_s:.1f} | {percentile(lat, 50):.0f} "
                f"| {percentile(lat, 95):.0f} | {percentile(lat, 99):.0f} | {r.errors} "
                f"| {r.caps_exceeded} | {r.double_assigned} | {c:.2f} | {database:.2f} "
                f"| {cpu[0] / cpu[1]:.2f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--responders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes; with more than one, the server-side "
                             "columns come from whichever worker answered the scrape")
    parser.add_argument("--against", metavar="DIR",
                        help="another checkout of the service: run it side by side with this "
                             "one, each sent every rate at the same time (the machine carries "
                             "twice the rate)")
    args = parser.parse_args(argv)
    rates = [int(x) for x in args.rates.split(",") if x.strip()]
    if not rates or min(rates) <= 0 or max(rates) > 2_000 or not 0 < args.seconds <= 120:
        parser.error("rates must be 1..2000 requests/s and seconds 0..120")
    if args.against is not None:
        if not os.path.isfile(os.path.join(args.against, "service", "main.py")):
            parser.error(f"--against {args.against}: no service/main.py there")
        return compare(args, rates)

    from service.migrate import upgrade

    name = create_database()
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    server = None
    log = tempfile.NamedTemporaryFile(prefix="wushe_load_server_", suffix=".log", delete=False)
    try:
        began = time.perf_counter()
        upgrade(url)
        world = seed(url, args.responders, args.seed)
        print(f"database {name}: migrated and seeded with {args.responders} responders in "
              f"{time.perf_counter() - began:.1f}s", file=sys.stderr)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, port, log, args.workers)
        wait_ready(base, server)
        rng = random.Random(args.seed)
        warm = asyncio.run(run_rate(base, world, 10, WARMUP / 10, rng, 10_000_000))
        print(f"warm-up: {warm.sent} requests, statuses {dict(warm.statuses)}", file=sys.stderr)
        results = []
        references = []
        for k, rate in enumerate(rates):
            # Same run, same server, same client, same rate: the machine's floor for an
            # authenticated request that reads the database once.
            quiesce(base)
            cpu = cpu_snapshot(server.pid)
            reference = asyncio.run(
                run_rate(base, world, rate, args.seconds, rng, 0, reference=True))
            quiesce(base)
            reference.cpu = _cpu_delta(cpu, cpu_snapshot(server.pid))
            references.append(reference)
            before = scrape(base)
            cpu = cpu_snapshot(server.pid)
            result = asyncio.run(run_rate(base, world, rate, args.seconds, rng, k * 1_000_000))
            quiesce(base)
            result.cpu = _cpu_delta(cpu, cpu_snapshot(server.pid))
            result.server = _delta(before, scrape(base))
            # Cumulative: every rate so far shares the database, so each check covers them all.
            result.caps_exceeded, result.double_assigned, problems = check_invariants(url)
            for p in problems[:20]:
                print(f"INVARIANT: {p}", file=sys.stderr)
            results.append(result)
            print(f"rate {rate}: statuses {dict(result.statuses)}, outcomes "
                  f"{dict(result.outcomes)}, queued reasons {dict(result.queued_reasons)}",
                  file=sys.stderr)
        print(table(results))
        print()
        print(reference_table(references, results))
        return 0 if not any(r.caps_exceeded or r.double_assigned for r in results) else 1
    finally:
        if server is not None:
            stop_server(server)
        log.close()
        errors = [line for line in open(log.name, encoding="utf-8", errors="replace")
                  if "Traceback" in line or "Error" in line]
        if errors:
            print(f"server log {log.name}: {len(errors)} error lines, first: {errors[0].strip()}",
                  file=sys.stderr)
        else:
            os.unlink(log.name)
        drop_database(name)


if __name__ == "__main__":
    sys.exit(main())
