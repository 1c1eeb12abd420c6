"""The linkage-index figures and responders' daily load, for the console and reports."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, NotFound, responses
from service.indicators import schemas
from service.indicators import service as indicators_service

router = APIRouter(prefix="/v1", tags=["indicators"])

Dispatcher = Annotated[Principal, Depends(require(Role.dispatcher))]


@router.get("/indicators", responses=responses(*COMMON, NotFound))
def get_indicators(
    session: SessionDep,
    principal: Dispatcher,
    scope_type: Annotated[
        schemas.ScopeType | None, Query(description="grid, community or street")
    ] = None,
    scope_id: Annotated[str | None, Query(max_length=36)] = None,
    period_from: Annotated[
        AwareDatetime | None,
        Query(alias="from", description="Start of the period (default: 30 days before `to`)"),
    ] = None,
    period_to: Annotated[
        AwareDatetime | None, Query(alias="to", description="End of the period (default: now)")
    ] = None,
) -> schemas.Indicators:
    """Linkage-index (联动指数) figures for requests created in [from, to) in a scope (default:
    all the caller's communities): share met, median minutes to offer and to completion,
    coverage by category, grid and day, volunteer hours and fund spending."""
    return indicators_service.indicators(
        session, principal, scope_type, scope_id, period_from, period_to
    )


@router.get("/indicators/responder-load", responses=responses(*COMMON, NotFound))
def get_responder_load(
    session: SessionDep,
    principal: Dispatcher,
    community_id: str | None = None,
    day: Annotated[date | None, Query(description="Local day (default: today)")] = None,
) -> schemas.LoadOut:
    """Each active responder's counted tasks, minutes and quantity on a day, beside its caps."""
    return indicators_service.responder_load(session, principal, community_id, day)
