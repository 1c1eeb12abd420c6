"""Retention: personal data of closed work is purged after a period; statistics remain.

``wushe purge --older-than-days N`` (default ``WUSHE_RETENTION_DAYS``) clears, for requests
closed (completed, cancelled, expired) and untouched for N days: the description, the link to
the resident, the assignments' free-text notes, and the exact location (rounded to about a
kilometre). Residents with no request left that still needs them, and untouched for N days,
lose name, phone, address, notes and exact home; their tags, community, grid and zone stay.
Category, urgency, times, states, grids and counts are kept, so the indicators (联动指数) of a
past emergency can still be computed. Each purge is audited like any other change.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from service.assignments.models import Assignment
from service.requests.models import FINAL_STATES, ServiceRequest
from service.residents.models import Resident
from service.types import utcnow

PURGED_NAME = "（已清除）"
ROUND_TO = 2  # decimal degrees: about 1 km


@dataclass
class Purged:
    requests: int = 0
    residents: int = 0


def purge(session: Session, older_than_days: int, now: datetime | None = None) -> Purged:
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    done = Purged()
    closed = session.scalars(
        select(ServiceRequest).where(
            ServiceRequest.state.in_(FINAL_STATES),
            ServiceRequest.updated_at < cutoff,
        )
    ).all()
    for request in closed:
        if _already_purged(request):
            continue
        request.description = None
        request.resident_id = None
        request.lon, request.lat = round(request.lon, ROUND_TO), round(request.lat, ROUND_TO)
        for assignment in session.scalars(
            select(Assignment).where(
                Assignment.request_id == request.id, Assignment.note.is_not(None)
            )
        ):
            assignment.note = None
        done.requests += 1
    session.flush()
    still_needed = exists().where(
        ServiceRequest.resident_id == Resident.id,
        (ServiceRequest.state.not_in(FINAL_STATES)) | (ServiceRequest.updated_at >= cutoff),
    )
    for resident in session.scalars(
        select(Resident).where(
            Resident.updated_at < cutoff, Resident.name != PURGED_NAME, ~still_needed
        )
    ):
        resident.name = PURGED_NAME
        resident.phone = None
        resident.address = None
        resident.notes = None
        resident.lon, resident.lat = round(resident.lon, ROUND_TO), round(resident.lat, ROUND_TO)
        done.residents += 1
    session.flush()
    return done


def _already_purged(request: ServiceRequest) -> bool:
    return (
        request.description is None
        and request.resident_id is None
        and request.lon == round(request.lon, ROUND_TO)
        and request.lat == round(request.lat, ROUND_TO)
    )

