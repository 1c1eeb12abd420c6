"""Wushe solver: who does what, provably well. A pure library (numpy, scipy, OR-Tools).

Names are imported on first use (PEP 562), so `python -m solver` can start its clock before
OR-Tools and scipy load and keep the whole command within --time-limit.
"""

from importlib import import_module

_EXPORTS = {
    "solve": "solver.engine",
    "Match": "solver.match", "MatchState": "solver.match", "match_one": "solver.match",
    "Assignment": "solver.plan", "Plan": "solver.plan", "Unassigned": "solver.plan",
    "Problem": "solver.problem", "ProblemError": "solver.problem",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'solver' has no attribute {name!r}")
