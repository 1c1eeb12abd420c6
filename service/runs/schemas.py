"""Run requests and run documents as the API speaks them."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from service.types import OutModel, StrictModel

MAX_TIME_LIMIT_S = 300


class RunScope(StrictModel):
    type: Literal["grid", "community", "street", "district"]
    id: str = Field(min_length=1, max_length=36)


class RunCreate(StrictModel):
    scope: RunScope
    # Omitted or null: every submitted request of the scope when the run starts.
    request_ids: list[str] | None = Field(default=None, max_length=10_000)
    mode: Literal["preview", "commit"] = "preview"
    kind: Literal["assign", "routes"] = Field(
        default="assign",
        description="assign: who does which request; routes: delivery routes (pickups, "
        "loads, stop order and times) for the scope's medicine and meal deliveries",
    )
    time_limit_s: int = Field(default=10, ge=1, le=MAX_TIME_LIMIT_S)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class RunProgress(OutModel):
    requests_considered: int | None = None
    best_objective: float | None = None
    bound: float | None = None
    parts_done: int | None = None
    parts_total: int | None = None
    requests_planned: int | None = Field(
        default=None, description="requests of the parts finished so far (a split run)"
    )


class RunOut(OutModel):
    id: str
    scope_type: str
    scope_id: str
    community_ids: list[str]
    request_ids: list[str] | None
    mode: str
    kind: str
    time_limit_s: int
    seed: int
    state: str
    phase: str
    progress: RunProgress
    has_plan: bool
    error: str | None
    attempts: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None


class PlannedAssignment(OutModel):
    request_id: str
    responder_ids: list[str]
    roles: list[str]
    start: datetime | None
    travel_minutes: list[int]
    distance_m: list[int]
    fund_id: str | None
    fixed: bool


class UnassignedOut(OutModel):
    request_id: str
    reason: str
    message: str
    remedy: str


class RouteStopOut(OutModel):
    kind: Literal["pickup", "deliver", "gate_drop", "gate_pickup"]
    place_id: str = Field(
        description="pickup point id, zone id (its gate), or building id (b-: an address "
        "hash, p-: rounded coordinates)"
    )
    lon: float
    lat: float
    arrival: datetime
    start: datetime = Field(description="service start: inside the window and opening hours")
    departure: datetime
    request_ids: list[str] = Field(description="requests picked up or dropped here")
    items: dict[str, int] = Field(description="service category code -> boxes")
    load_after: int = Field(description="boxes on board after the stop")


class RouteOut(OutModel):
    responder_id: str
    start: datetime = Field(description="departure from the responder's base")
    end: datetime = Field(description="back at the base")
    distance_m: int
    duration_min: int
    stops: list[RouteStopOut]


class PlanOut(OutModel):
    run_id: str
    state: str
    kind: Literal["assign", "routes"] = Field(
        default="assign",
        description="routes: each assignment is a served delivery (a handoff lists the "
        "responder to the gate, then the one to the door; start is the door stop's), "
        "objective is the total distance in metres (no bound is proven: bound 0)",
    )
    status: str
    method: str
    objective: float
    bound: float
    gap: float
    time_s: float
    assignments: list[PlannedAssignment]
    unassigned: list[UnassignedOut]
    commit: dict[str, Any] | None = None
    routes: list[RouteOut] | None = Field(
        default=None, description="routes runs only: each responder's stops in order"
    )


class CommitChange(OutModel):
    request_id: str
    what: Literal["dropped", "resolved", "unplaced"]
    why: str
    responder_ids: list[str] = []


class CommitOut(OutModel):
    run_id: str
    state: str
    offered: int
    assignment_ids: list[str]
    changes: list[CommitChange]
