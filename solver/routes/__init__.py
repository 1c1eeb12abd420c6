"""Delivery routes: responders pick up medicine at pickup points and deliver it to residents'
doors within deadlines (OR-Tools routing library). Pure: no service/, FastAPI, SQLAlchemy or
pydantic. See solver/README.md, "Delivery routes".
"""

from solver.routes.plan import Route, RoutePlan, Stop, Unserved
from solver.routes.problem import RoutesProblem
from solver.routes.solve import solve_routes

__all__ = ["Route", "RoutePlan", "RoutesProblem", "Stop", "Unserved", "solve_routes"]
