"""Bodies and answers of the dispatch operations (lifecycle moves, rating, manual dispatch)."""

from typing import Annotated

from pydantic import Field

from service.assignments.schemas import AssignmentOut
from service.responders.schemas import ResponderKind
from service.types import OutModel, StrictModel

Reason = Annotated[str, Field(min_length=1, max_length=500)]


class DeclineBody(StrictModel):
    reason: Reason


class CancelBody(StrictModel):
    reason: Reason


class UnassignBody(StrictModel):
    reason: Reason


class RatingBody(StrictModel):
    rating: int = Field(ge=1, le=5)
    comment: Annotated[str, Field(max_length=2000)] | None = None


class AssignBody(StrictModel):
    responder_ids: Annotated[list[str], Field(min_length=1, max_length=50)]
    roles: Annotated[list[ResponderKind], Field(min_length=1, max_length=50)] | None = Field(
        default=None, description="Parallel to responder_ids; defaults to each responder's kind"
    )
    note: Annotated[str, Field(max_length=2000)] | None = None


class ManualOut(OutModel):
    assignments: list[AssignmentOut]
    warnings: list[str]
