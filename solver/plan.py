"""The plan: assignments, unassigned requests with reasons, and the figures that judge it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATUSES = ("optimal", "feasible", "timeout_no_solution")
METHODS = ("flow", "cpsat", "greedy", "mixed")
REASONS = (
    "no_qualified_responder", "out_of_range", "zone_not_cleared", "excluded", "no_time",
    "capacity", "team_incomplete", "no_eligible_fund", "fund_exhausted", "outranked",
)


@dataclass(frozen=True)
class Assignment:
    request_id: str
    responder_ids: tuple[str, ...]
    roles: tuple[str, ...]
    start: int | None
    travel_minutes: tuple[int, ...]
    distance_m: tuple[int, ...]
    fund_id: str | None = None
    fixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "responder_ids": list(self.responder_ids),
                "roles": list(self.roles), "start": self.start,
                "travel_minutes": list(self.travel_minutes),
                "distance_m": list(self.distance_m), "fund_id": self.fund_id,
                "fixed": self.fixed}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Assignment:
        return Assignment(
            request_id=d["request_id"], responder_ids=tuple(d["responder_ids"]),
            roles=tuple(d.get("roles", ())), start=d.get("start"),
            travel_minutes=tuple(d.get("travel_minutes", ())),
            distance_m=tuple(d.get("distance_m", ())), fund_id=d.get("fund_id"),
            fixed=bool(d.get("fixed", False)))


@dataclass(frozen=True)
class Unassigned:
    request_id: str
    reason: str
    message: str
    remedy: str

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "reason": self.reason,
                "message": self.message, "remedy": self.remedy}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Unassigned:
        return Unassigned(d["request_id"], d["reason"], d.get("message", ""),
                          d.get("remedy", ""))


@dataclass(frozen=True)
class Plan:
    status: str
    method: str
    objective: float
    bound: float
    gap: float
    time_s: float
    assignments: tuple[Assignment, ...]
    unassigned: tuple[Unassigned, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "method": self.method, "objective": self.objective,
                "bound": self.bound, "gap": self.gap, "time_s": self.time_s,
                "assignments": [a.to_dict() for a in self.assignments],
                "unassigned": [u.to_dict() for u in self.unassigned]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Plan:
        return Plan(
            status=d["status"], method=d["method"], objective=float(d["objective"]),
            bound=float(d["bound"]), gap=float(d["gap"]), time_s=float(d["time_s"]),
            assignments=tuple(Assignment.from_dict(a) for a in d["assignments"]),
            unassigned=tuple(Unassigned.from_dict(u) for u in d["unassigned"]))

    def assignment_of(self, request_id: str) -> Assignment | None:
        for a in self.assignments:
            if a.request_id == request_id:
                return a
        return None
