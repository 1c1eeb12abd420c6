"""Wushe solver: who does what, provably well. A pure library (numpy, scipy, OR-Tools)."""

from solver.engine import solve
from solver.match import Match, MatchState, match_one
from solver.plan import Assignment, Plan, Unassigned
from solver.problem import Problem, ProblemError

__all__ = ["Assignment", "Match", "MatchState", "Plan", "Problem", "ProblemError", "Unassigned",
           "match_one", "solve"]
