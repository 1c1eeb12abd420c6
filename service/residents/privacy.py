"""Who sees a resident's phone, address and notes in full, and the record of every reveal.

Lists, writes' echoes and plain reads show them masked (phone ``139****5678``, address
cut after its first characters, notes hidden). The full data is shown only on request
(``?reveal=true``) to dispatchers of the resident's community, and to the responder holding
an accepted or started assignment for them (``GET /v1/assignments/{id}/contact``). Every
reveal writes an audit entry (action ``reveal``) naming who, whom and which fields.
"""

from typing import Any

from sqlalchemy.orm import Session

from service.residents.models import Resident

REVEALED = ("phone", "address", "notes")
ADDRESS_KEPT = 4


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    if len(phone) <= 4:
        return "*" * len(phone)
    keep = 3 if len(phone) >= 11 else 1
    return phone[:keep] + "*" * (len(phone) - keep - 4) + phone[-4:]


def mask_address(address: str | None) -> str | None:
    if not address:
        return address
    return address[:ADDRESS_KEPT] + "***"


def view(resident: Resident, *, full: bool) -> dict[str, Any]:
    """The resident as an API answer: in full, or with phone and address masked and notes
    withheld."""
    out = {
        "id": resident.id,
        "community_id": resident.community_id,
        "grid_id": resident.grid_id,
        "name": resident.name,
        "phone": resident.phone,
        "address": resident.address,
        "location": resident.location,
        "tags": resident.tags,
        "notes": resident.notes,
        "zone_id": resident.zone_id,
        "masked": not full,
        "created_at": resident.created_at,
        "updated_at": resident.updated_at,
    }
    if not full:
        out["phone"] = mask_phone(resident.phone)
        out["address"] = mask_address(resident.address)
        out["notes"] = None
    return out


def record_reveal(session: Session, resident: Resident, why: str) -> None:
    """Audit a reveal of the resident's full data, in the reading transaction."""
    from service.audit.recorder import write_now

    write_now(session, resident, "reveal", None, {"fields": list(REVEALED), "why": why})
