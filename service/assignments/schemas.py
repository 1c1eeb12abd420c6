from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from service.requests.schemas import UTCInstant
from service.responders.schemas import ResponderKind
from service.types import OutModel, StrictModel

AssignmentState = Literal[
    "offered", "accepted", "in_progress", "completed", "declined", "timed_out", "cancelled"
]
Note = Annotated[str, Field(max_length=2000)]


class AssignmentCreate(StrictModel):
    request_id: str
    responder_id: str
    role: ResponderKind = Field(description="Must equal the responder's kind")
    planned_start: UTCInstant | None = None
    respond_by: UTCInstant | None = Field(
        default=None, description="The offer times out after this"
    )
    travel_minutes: int | None = Field(default=None, ge=0)
    distance_m: int | None = Field(default=None, ge=0)
    fund_id: Annotated[str, Field(min_length=1, max_length=36)] | None = None
    note: Note | None = None


class AssignmentUpdate(StrictModel):
    """Planning details only; state changes have their own operations."""

    # null is meaningful here: it clears the planned start, the deadline or the note.
    planned_start: UTCInstant | None = None
    respond_by: UTCInstant | None = None
    note: Note | None = None


class AssignmentOut(OutModel):
    id: str
    request_id: str
    responder_id: str
    community_id: str
    role: ResponderKind
    state: AssignmentState
    planned_start: datetime | None
    offered_at: datetime
    respond_by: datetime | None
    accepted_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    travel_minutes: int | None
    distance_m: int | None
    fund_id: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime


class Contact(OutModel):
    """A resident's full contact data, for the responder who serves them."""

    resident_id: str
    name: str
    phone: str | None
    address: str | None
    notes: str | None
    location: dict[str, Any]
