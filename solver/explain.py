"""Why a request is unassigned, in words a dispatcher uses, and what would change it.

The diagnosis replays the hard constraints one at a time on the request's own responders, in
the order a dispatcher would fix them: who is qualified, who is allowed (exclusions, zone
clearance), who is in range, who has time, who has capacity left, which fund can pay. The
first stage that empties the field is the reason; the remedy is computed from the data.
"""

from __future__ import annotations

import numpy as np

from solver import geo
from solver.candidates import time_fits
from solver.index import Index, _bitmasks, responder_mask
from solver.plan import Unassigned
from solver.problem import KINDS, LICENCE_RANK, Request

KIND_WORDS = {"volunteer": "volunteer", "social_worker": "social worker",
              "organization": "organization", "community_staff": "community staff member"}


def clock(minute: int) -> str:
    """Minutes from the origin as a wall-clock time (days wrap)."""
    return f"{(minute // 60) % 24:02d}:{minute % 60:02d}"


def km(metres: float) -> str:
    """A distance as a dispatcher says it: '350 m', '2.4 km', '12 km'."""
    if metres < 1000:
        return f"{int(round(metres))} m"
    return f"{metres / 1000:.1f} km" if metres < 10_000 else f"{metres / 1000:.0f} km"


def who(r: Request, slot=None) -> str:
    """'a senior-licensed social worker holding counselling' and the like."""
    quals = slot.qualifications if slot else r.qualifications
    licence = slot.min_licence if slot else r.min_licence
    kind = KIND_WORDS[slot.role] if slot else "responder"
    text = ("a " + licence + "-licensed " if licence != "none" else "a ") + kind
    text = text.replace("a assistant", "an assistant").replace("a intermediate",
                                                               "an intermediate")
    if quals:
        text += " holding " + ", ".join(f"'{q}'" for q in quals)
    return text


def _qualified(ix: Index, r: Request, slot=None) -> np.ndarray:
    """Responders holding the qualifications, licence, category (and role) asked for; the
    answer depends only on those, so it is computed once per combination."""
    quals = slot.qualifications if slot else r.qualifications
    licence = slot.min_licence if slot else r.min_licence
    key = (tuple(sorted(quals)), licence, r.category, slot.role if slot else None)
    cache = ix.masks.setdefault("qualified", {})
    if key not in cache:
        need = _bitmasks([quals], ix.qual_codes)[0]
        ok = np.all((need & ~ix.j_quals) == 0, axis=1)
        # a qualification nobody in the problem holds has no code (and no bit) at all
        ok &= all(q in ix.qual_codes for q in quals)
        ok &= ix.j_licence >= LICENCE_RANK[licence]
        ok &= responder_mask(ix, "category", r.category)
        if slot is not None:
            ok &= ix.j_kind == KINDS.index(slot.role)
        cache[key] = ok
    return cache[key]


def _travel(ix: Index, r: Request, js: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(metres, minutes) from responders js to the request, `travel` entries applied."""
    metres = geo.pair_distance_m(ix.j_trig, js, geo.trig([r.location[0]], [r.location[1]]),
                                 np.zeros(len(js), dtype=np.int64))
    minutes = geo.travel_minutes(metres, ix.j_speed[js])
    for j, t in _travel_by_request(ix).get(r.id, {}).items():
        at = np.flatnonzero(js == j)
        metres[at], minutes[at] = t.metres, t.minutes
    return metres, minutes


def _travel_by_request(ix: Index) -> dict[str, dict[int, object]]:
    """`travel` entries grouped by request, built once per travel tuple."""
    travel = ix.problem.travel or ()
    cached = ix.masks.get("travel")
    if cached is None or cached[0] is not travel:
        grouped: dict[str, dict[int, object]] = {}
        for t in travel:
            grouped.setdefault(t.request, {})[ix.resp_pos[t.responder]] = t
        ix.masks["travel"] = cached = (travel, grouped)
    return cached[1]


def _static(ix: Index, ri: int) -> tuple[str, str, str]:
    """Reason for a request that no responder can take even with an empty schedule."""
    problem = ix.problem
    r = problem.requests[ri]
    nj = len(ix.j_lon)
    limit = r.max_distance_m if r.max_distance_m is not None else geo.BIG_M
    for slot in r.team or (None,):
        # nobody qualified at all: the commonest case, answered without any distances
        if _qualified(ix, r, slot).sum() < (slot.count if slot else 1):
            person = who(r, slot)
            return ("team_incomplete" if slot else "no_qualified_responder",
                    f"No {person[2:] if person.startswith('a ') else person[3:]} is "
                    f"registered for this {'team' if slot else 'request'}.",
                    f"{person} within {km(min(limit, float(ix.j_radius.max(initial=0))))}")
    allowed = np.ones(nj, dtype=bool)
    allowed[[ix.resp_pos[x] for x in r.excluded_responders if x in ix.resp_pos]] = False
    cleared = (responder_mask(ix, "zone", r.zone_id) if r.needs_clearance
               else np.ones(nj, dtype=bool))
    for slot in r.team or (None,):
        need = slot.count if slot else 1
        q = _qualified(ix, r, slot)
        person = who(r, slot)
        team = "team_incomplete" if slot else None
        if (q & allowed).sum() < need:
            return (team or "excluded", "Every qualified responder is excluded from this "
                    "request.", f"{person} not on the exclusion list")
        base = np.flatnonzero(q & allowed & cleared)
        if len(base) < need:
            return (team or "zone_not_cleared",
                    f"The request is in {r.zone_status} zone {r.zone_id} and no qualified "
                    "responder is cleared for it.", f"{person} cleared for zone {r.zone_id}")
        # distances only to the responders still in the running
        metres, minutes = _travel(ix, r, base)
        in_range = (metres <= ix.j_radius[base]) & (metres <= limit)
        if in_range.sum() < need:
            near = np.sort(metres)[need - 1]
            return (team or "out_of_range",
                    f"The nearest qualified responder is {km(near)} away, beyond its travel "
                    f"radius or the request's limit.",
                    f"{person} within {km(min(limit, near))} (the nearest is {km(near)} away)")
        js, mins = base[in_range], minutes[in_range]
        timely = time_fits(ix, np.full(len(js), ri), js, mins)
        if timely.sum() < need:
            return (team or "no_time", "No qualified responder in range has a shift that fits "
                    "the visit window.", _widen(ix, r, js, mins))
        js, mins = js[timely], mins[timely]
        roomy = ((ix.j_tasks_left[js] >= 1) & (ix.j_load_left[js] >= r.quantity)
                 & (ix.j_minutes_left[js] >= r.duration + 2 * mins))
        if roomy.sum() < need:
            return (team or "capacity", "Every qualified responder in range is already at "
                    "their task, minute or load limit.", f"one more {person[2:]} free"
                    + (f" before {clock(r.window[1])}" if r.window else ""))
    return _fund_reason(ix, ri, ix.fund_left) or (
        "outranked", "The request could be served alone, but its candidates went to "
        "higher-weighted work.", f"one more {who(r)[2:]} free")


def _widen(ix: Index, r: Request, js: np.ndarray, minutes: np.ndarray) -> str:
    """How much wider the window (or longer the shift) must be for the nearest fit: the
    least shortfall over the responders' shifts (a shift with start > end is padding)."""
    start, end = ix.j_shift_start[js], ix.j_shift_end[js]  # responders x shifts
    t = minutes[:, None]
    if r.window is None:
        short = 2 * t + r.duration - (end - start)
    else:
        lo, hi = start + t, end - r.duration - t
        early, late = np.maximum(0, r.window[0] - hi), np.maximum(0, lo - r.window[1])
        short = np.where(lo > hi, lo - hi + early + late, late + early)
    short = short[(start <= end) & (short > 0)]
    if len(short) == 0:
        return "a responder with a free shift in the window"
    best = int(short.min())
    if r.window is None:
        return f"a shift {best} minutes longer"
    return f"a window {best} minutes wider"


def _fund_reason(ix: Index, ri: int, left: np.ndarray) -> tuple[str, str, str] | None:
    problem = ix.problem
    r = problem.requests[ri]
    if r.cost <= 0:
        return None
    eligible = [k for k, f in enumerate(problem.funds) if f.eligible(r)]
    if not eligible:
        return ("no_eligible_fund", f"No charity fund may pay the {r.cost / 100:.2f} yuan "
                f"cost of this '{r.category}' request.",
                f"a fund open to '{r.category}' requests with {r.cost / 100:.2f} yuan")
    best = max(eligible, key=lambda k: (left[k], -k))
    if left[best] >= r.cost:
        return None
    short = r.cost - max(int(left[best]), 0)
    name = problem.funds[best].id
    return ("fund_exhausted", f"Eligible funds cannot cover the {r.cost / 100:.2f} yuan cost; "
            f"fund {name} has {max(int(left[best]), 0) / 100:.2f} yuan left.",
            f"{short / 100:.2f} yuan more in fund {name}")


def explain_unassigned(ix: Index, cand, choices, served: set[str]) -> list[Unassigned]:
    problem = ix.problem
    spent = np.zeros(len(problem.funds), dtype=np.int64)
    for ri, c in choices.items():
        if c.fund is not None:
            spent[c.fund] += problem.requests[ri].cost
    after = ix.fund_left - spent
    has_pairs = np.zeros(len(problem.requests), dtype=bool)
    has_pairs[cand.p_req] = True
    left_out = np.array([r.id not in served for r in problem.requests], dtype=bool)
    plan_loads = None
    out = []
    for ri in np.flatnonzero(left_out).tolist():
        r = problem.requests[ri]
        if not has_pairs[ri]:
            reason = _static(ix, ri)
        else:
            reason = _fund_reason(ix, ri, after)
            if reason is None:
                if plan_loads is None:
                    plan_loads = _PlanLoads(ix, cand, left_out & has_pairs)
                reason = _dynamic(ix, cand, ri, plan_loads)
        out.append(Unassigned(r.id, *reason))
    return out


class _PlanLoads:
    """Responders' load from accepted (fixed) work only, and the pairs of each request."""

    def __init__(self, ix: Index, cand, wanted: np.ndarray):
        """`wanted`: a mask of the requests whose pairs will be asked for (sorting only
        theirs: at 100,000 requests the pairs are millions, the wanted a few thousand)."""
        from solver.loads import Loads

        self.alone = Loads(ix)
        mine = np.flatnonzero(wanted[cand.p_req])
        self.order = mine[np.argsort(cand.p_req[mine], kind="stable")]
        self.sorted_req = cand.p_req[self.order]

    def pairs_of(self, ri: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.sorted_req, [ri, ri + 1])
        return self.order[lo:hi]


def _dynamic(ix: Index, cand, ri: int, plan: _PlanLoads) -> tuple[str, str, str]:
    """A request with candidates that the plan left out: blocked by accepted work already,
    or feasible alone and outranked by the plan's other work."""
    r = ix.problem.requests[ri]
    by = f" before {clock(r.window[1])}" if r.window else ""
    if r.team is not None:
        first, n = cand.r_units[ri]
        slot = r.team[int(np.argmax(cand.u_count[first:first + n]))]
        return ("team_incomplete", "Not all team roles can be filled at one time; the "
                "members are busy with other work.",
                f"{slot.count} more {who(r, slot)[2:]}(s) free{by}")
    pairs = plan.pairs_of(ri)
    if r.window is not None and not any(
            plan.alone.starts(int(cand.p_resp[p]), int(cand.p_minutes[p]), r.duration,
                              r.window) for p in pairs):
        return ("no_time", "Every suitable responder is busy with accepted work during the "
                "window.", f"one more {who(r)[2:]} free between {clock(r.window[0])} and "
                f"{clock(r.window[1] + r.duration)}")
    near = int(cand.p_metres[pairs].min())
    return ("outranked", "The request could be served alone, but its candidates went to "
            "more heavily weighted work in this plan.",
            f"one more {who(r)[2:]} within {km(max(near, 1000))} free{by}")
