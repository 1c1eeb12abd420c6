"""Immutable problem data and its validated construction from the JSON form.

`Problem.from_dict` is the only way in from untrusted data: it checks every field and raises
`ProblemError(path, message)` naming the first offending field, so the CLI and the service can
tell a dispatcher exactly what to fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

LICENCES = ("none", "assistant", "intermediate", "senior")
LICENCE_RANK = {name: i for i, name in enumerate(LICENCES)}
URGENCIES = ("normal", "urgent", "emergency")  # tier order, lowest first
KINDS = ("volunteer", "social_worker", "organization", "community_staff")
ZONE_STATUSES = ("sealed", "controlled", "precaution")
RESTRICTED_ZONES = ("sealed", "controlled")

DEFAULT_TAG_WEIGHT = {
    "elderly": 200, "lives_alone": 300, "disabled": 300,
    "child": 200, "chronic_illness": 200, "low_income": 100,
}
DEFAULT_URGENCY_WEIGHT = {"normal": 1, "urgent": 1, "emergency": 1}


class ProblemError(ValueError):
    """A malformed problem; `path` names the field, e.g. `requests[3].window`."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class TeamSlot:
    role: str
    count: int
    qualifications: tuple[str, ...] = ()
    min_licence: str = "none"


@dataclass(frozen=True)
class Request:
    id: str
    location: tuple[float, float]
    category: str = ""
    community_id: str | None = None
    resident_id: str | None = None
    resident_tags: tuple[str, ...] = ()
    urgency: str = "normal"
    window: tuple[int, int] | None = None
    duration: int = 0
    quantity: int = 0
    cost: int = 0
    qualifications: tuple[str, ...] = ()
    min_licence: str = "none"
    max_distance_m: int | None = None
    team: tuple[TeamSlot, ...] | None = None
    zone_id: str | None = None
    zone_status: str | None = None
    excluded_responders: tuple[str, ...] = ()
    previous_responder: str | None = None

    @property
    def members(self) -> int:
        """How many responders serving this request takes."""
        return 1 if self.team is None else sum(s.count for s in self.team)

    @property
    def needs_clearance(self) -> bool:
        return self.zone_status in RESTRICTED_ZONES


@dataclass(frozen=True)
class Responder:
    id: str
    kind: str
    location: tuple[float, float]
    radius_m: int
    speed_kmh: float = 15.0
    qualifications: tuple[str, ...] = ()
    licence: str = "none"
    categories: tuple[str, ...] | None = None
    community_ids: tuple[str, ...] = ()
    shifts: tuple[tuple[int, int], ...] | None = None
    max_tasks: int | None = None
    max_minutes: int | None = None
    load_capacity: int | None = None
    zone_clearances: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fund:
    id: str
    balance: int
    categories: tuple[str, ...] | None = None
    community_ids: tuple[str, ...] | None = None
    resident_tags: tuple[str, ...] | None = None

    def eligible(self, request: Request) -> bool:
        """Whether this fund may pay for the request (balance aside)."""
        if self.categories is not None and request.category not in self.categories:
            return False
        if self.community_ids is not None and request.community_id not in self.community_ids:
            return False
        if self.resident_tags is not None and not set(self.resident_tags) & set(
            request.resident_tags
        ):
            return False
        return True


@dataclass(frozen=True)
class Fixed:
    request_id: str
    responder_ids: tuple[str, ...]
    start: int | None = None
    fund_id: str | None = None


@dataclass(frozen=True)
class Travel:
    responder: str
    request: str
    minutes: int
    metres: int


@dataclass(frozen=True)
class Params:
    tag_weight: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TAG_WEIGHT))
    urgency_weight: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_URGENCY_WEIGHT))
    travel_weight_per_km: float = 10.0
    fairness_weight: float = 5.0
    continuity_bonus: float = 30.0
    same_community_bonus: float = 10.0


@dataclass(frozen=True)
class Problem:
    requests: tuple[Request, ...]
    responders: tuple[Responder, ...]
    funds: tuple[Fund, ...] = ()
    fixed: tuple[Fixed, ...] = ()
    travel: tuple[Travel, ...] | None = None
    params: Params = field(default_factory=Params)
    origin: str | None = None

    @staticmethod
    def from_dict(data: Any) -> Problem:
        """Validate the JSON form and build the problem; raises ProblemError."""
        from solver.parse import parse_problem

        return parse_problem(data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (inverse of from_dict)."""
        from solver.parse import problem_to_dict

        return problem_to_dict(self)


def licence_at_least(held: str, needed: str) -> bool:
    return LICENCE_RANK[held] >= LICENCE_RANK[needed]


def finite(x: float) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
