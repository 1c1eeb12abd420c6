"""How a run splits into independent parts, and how the parts' plans become one.

Pure functions over plain data; service.runs.parts feeds them from the database.

The unit is the community. Two communities are linked when an active responder serves both
(it is a candidate in both) or a fund may pay in both (a street's fund covers all of its
street's communities). Linked communities are in one part, so no responder, cap or fund is
shared between parts: no constraint crosses them and the run's plan is the union of theirs.
Parts are then packed in street order (a street's communities first, then the next street's)
while a packed part holds at most ``pack`` pending requests, so a city of small streets does
not become a thousand tiny jobs; a part bigger than ``pack`` stays whole. Parts with nothing
to plan are left out.
"""

from collections.abc import Iterable
from typing import Any

# weakest first: the run's status is its weakest part's
STATUS_ORDER = ("timeout_no_solution", "feasible", "optimal")


def split(
    streets: dict[str, str],
    links: Iterable[Iterable[str]],
    pending: dict[str, int],
    pack: int,
) -> list[list[str]]:
    """The parts, as sorted community ids; ``streets`` maps each community of the run to its
    street, ``links`` are the community sets of each responder and fund, ``pending`` the
    pending requests per community."""
    parent = {c: c for c in streets}

    def root(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for linked in links:
        inside = sorted(c for c in set(linked) if c in parent)
        for other in inside[1:]:
            a, b = root(inside[0]), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for c in sorted(streets):
        groups.setdefault(root(c), []).append(c)
    components = [g for g in groups.values() if sum(pending.get(c, 0) for c in g) > 0]
    components.sort(key=lambda g: (min(streets[c] for c in g), g[0]))
    parts: list[list[str]] = []
    size = 0
    for g in components:
        n = sum(pending.get(c, 0) for c in g)
        if parts and size + n <= pack:
            parts[-1] = sorted(parts[-1] + g)
            size += n
        else:
            parts.append(g)
            size = n
    return parts


def rebase(plan: dict[str, Any], origin: str) -> list[dict[str, Any]]:
    """``plan``'s assignments with starts counted from ``origin`` (both local midnights)."""
    from datetime import datetime

    shift = int(
        (datetime.fromisoformat(plan["origin"]) - datetime.fromisoformat(origin)).total_seconds()
        // 60
    )
    return [
        {**a, "start": a["start"] + shift if a["start"] is not None else None}
        for a in plan["assignments"]
    ]


def merge(plans: list[dict[str, Any]]) -> dict[str, Any]:
    """One plan from the parts' plans (in part order): assignments and unassigned joined,
    objective and bound summed, the weakest status, the longest time."""
    origin = min(p["origin"] for p in plans)
    objective = sum(p["objective"] for p in plans)
    bound = sum(p["bound"] for p in plans)
    statuses = [p["status"] for p in plans]
    methods = sorted({p["method"] for p in plans})
    return {
        "kind": "assign",
        "status": min(statuses, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 0),
        "method": methods[0] if len(methods) == 1 else "+".join(methods),
        "objective": objective,
        "bound": bound,
        "gap": gap(objective, bound),
        "time_s": max(p["time_s"] for p in plans),
        "origin": origin,
        "assignments": [a for p in plans for a in rebase(p, origin)],
        "unassigned": [u for p in plans for u in p["unassigned"]],
        "parts": len(plans),
    }


def gap(objective: float, bound: float) -> float:
    """The gap of the summed figures, computed as the solver computes a part's."""
    return max(0.0, (bound - objective) / max(abs(objective), 1.0))
