"""The objective of README § Objective, recomputed from problem and plan alone."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from solver.index import request_values, scale_u, tier_multipliers
from solver.plan import Assignment
from solver.problem import URGENCIES, Problem


@dataclass(frozen=True)
class Figures:
    served_weight: int    # P
    travel: float         # T
    fairness: float       # F
    bonus: float          # C
    scale: int            # U

    @property
    def secondary(self) -> float:
        return self.travel + self.fairness - self.bonus

    @property
    def objective(self) -> float:
        return self.served_weight - self.secondary / self.scale


def weights(problem: Problem) -> dict[str, int]:
    """M[tier] * v(r) for every request id."""
    import numpy as np

    values = request_values(problem)
    tiers = np.array([URGENCIES.index(r.urgency) for r in problem.requests], dtype=np.int64)
    mult = tier_multipliers(problem, values, tiers)
    return {r.id: mult[int(t)] * int(v)
            for r, t, v in zip(problem.requests, tiers, values, strict=True)}


def figures(problem: Problem, assignments: tuple[Assignment, ...] | list[Assignment],
            weight: dict[str, int] | None = None, scale: int | None = None) -> Figures:
    p = problem.params
    weight = weights(problem) if weight is None else weight
    requests = {r.id: r for r in problem.requests}
    responders = {j.id: j for j in problem.responders}
    served = sum(weight[a.request_id] for a in assignments)
    metres = sum(sum(a.distance_m) for a in assignments)
    tasks = Counter(j for a in assignments for j in a.responder_ids)
    fairness = sum(t * (t - 1) / 2 for j, t in tasks.items() if responders[j].kind == "volunteer")
    continuity = same = 0
    for a in assignments:
        r = requests[a.request_id]
        if r.previous_responder is not None and r.previous_responder in a.responder_ids:
            continuity += 1
        if r.community_id is not None:
            same += sum(r.community_id in responders[j].community_ids for j in a.responder_ids)
    return Figures(
        served_weight=served, travel=p.travel_weight_per_km * metres / 1000,
        fairness=p.fairness_weight * fairness,
        bonus=p.continuity_bonus * continuity + p.same_community_bonus * same,
        scale=scale_u(problem) if scale is None else scale)


def objective(problem: Problem, assignments) -> float:
    return figures(problem, assignments).objective


def gap(objective_value: float, bound: float) -> float:
    return max(0.0, (bound - objective_value) / max(abs(objective_value), 1.0))
