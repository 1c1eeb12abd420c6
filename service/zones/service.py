"""Rules for zones: who draws them, how they tag requests and residents, and when."""

from datetime import datetime

from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.errors import NotFound, Unprocessable
from service.requests.models import ServiceRequest
from service.residents.models import Resident
from service.types import Point, utcnow
from service.zones import repository as repo
from service.zones import schemas, tagging
from service.zones.models import Zone


def _event(session: Session, zone: Zone, kind: str, retagged: schemas.Retagged) -> None:
    from service.events.service import record

    record(
        session,
        community_id=zone.community_id,
        kind=kind,
        subject_type="zone",
        subject_id=zone.id,
        payload={"status": zone.status, "in_force": zone.tagged_in_force, **retagged.model_dump()},
    )


def _check_period(valid_from: datetime, valid_until: datetime | None) -> None:
    if valid_until is not None and valid_until <= valid_from:
        raise Unprocessable.on("valid_until", "the zone must end after it starts (valid_from)")


def _set_geometry(zone: Zone, geometry: schemas.Geometry) -> None:
    plain = geometry.model_dump(mode="json")
    geom = tagging.polygon(plain)
    zone.geometry = plain
    zone.min_lon, zone.min_lat, zone.max_lon, zone.max_lat = geom.bounds


def _set_gate(zone: Zone, gate: Point | None) -> None:
    zone.gate_lon, zone.gate_lat = (gate.lon, gate.lat) if gate is not None else (None, None)


def get_zone(session: Session, principal: Principal, zone_id: str) -> Zone:
    zone = repo.get_zone(session, zone_id)
    if zone is None or not principal.sees(zone.community_id):
        raise NotFound("No such zone.")
    return zone


def create_zone(
    session: Session, principal: Principal, data: schemas.ZoneCreate
) -> tuple[Zone, schemas.Retagged]:
    from service.places.service import visible_community

    community = visible_community(session, principal, data.community_id, "community_id")
    now = utcnow()
    valid_from = data.valid_from or now
    _check_period(valid_from, data.valid_until)
    zone = Zone(
        community_id=community.id,
        name=data.name,
        status=data.status,
        valid_from=valid_from,
        valid_until=data.valid_until,
    )
    _set_geometry(zone, data.geometry)
    _set_gate(zone, data.gate)
    zone.tagged_in_force = zone.in_force(now)
    session.add(zone)
    session.flush()
    retagged = retag(session, community.id, now)
    _event(session, zone, "zone.created", retagged)
    return zone, retagged


def update_zone(
    session: Session, principal: Principal, zone_id: str, data: schemas.ZoneUpdate
) -> tuple[Zone, schemas.Retagged]:
    zone = get_zone(session, principal, zone_id)
    changes = data.model_dump(exclude_unset=True)
    if "geometry" in changes:
        _set_geometry(zone, data.geometry)
    for key in ("name", "status", "valid_from", "valid_until"):
        if key in changes:
            setattr(zone, key, getattr(data, key))
    if "gate" in changes:
        _set_gate(zone, data.gate)
    _check_period(zone.valid_from, zone.valid_until)
    now = utcnow()
    zone.tagged_in_force = zone.in_force(now)
    session.flush()
    retagged = retag(session, zone.community_id, now)
    _event(session, zone, "zone.updated", retagged)
    return zone, retagged


def delete_zone(session: Session, principal: Principal, zone_id: str) -> schemas.Retagged:
    zone = get_zone(session, principal, zone_id)
    community_id = zone.community_id
    zone.tagged_in_force = False
    session.delete(zone)
    session.flush()
    retagged = retag(session, community_id, utcnow())
    _event(session, zone, "zone.deleted", retagged)
    return retagged


def retag(session: Session, community_id: str, at: datetime) -> schemas.Retagged:
    """Tag every open request and every resident of the community with the zone it lies in
    now; only rows whose zone changed are written (and audited)."""
    zones = tagging.in_force(session, community_id, at)
    moved = []
    for rows in (repo.open_requests(session, community_id), repo.residents(session, community_id)):
        found = tagging.locate(zones, [r.lon for r in rows], [r.lat for r in rows])
        changed = 0
        for row, zone_id in zip(rows, found, strict=True):
            if row.zone_id != zone_id:
                row.zone_id = zone_id
                changed += 1
        moved.append(changed)
    session.flush()
    return schemas.Retagged(requests=moved[0], residents=moved[1])


def zone_at(session: Session, community_id: str, lon: float, lat: float) -> str | None:
    """The zone a new request or resident at this point belongs to now."""
    zones = tagging.in_force_around(session, community_id, utcnow(), lon, lat)
    return tagging.locate(zones, [lon], [lat])[0]


def tag(session: Session, row: ServiceRequest | Resident) -> None:
    row.zone_id = zone_at(session, row.community_id, row.lon, row.lat)


def check_zone(session: Session, community_id: str, zone_id: str, field: str) -> None:
    """A zone named in a body must be one of that community's zones."""
    zone = repo.get_zone(session, zone_id)
    if zone is None or zone.community_id != community_id:
        raise Unprocessable.on(field, f"unknown zone {zone_id!r} in this community")


def follow_the_clock(session: Session, now: datetime | None = None) -> int:
    """Re-tag communities where a zone came into force or ran out since the last tagging;
    run by the background round. Returns how many zones changed."""
    now = now or utcnow()
    crossed = [z for z in repo.zones_to_check(session) if z.in_force(now) != z.tagged_in_force]
    for zone in crossed:
        zone.tagged_in_force = zone.in_force(now)
    for community_id in sorted({z.community_id for z in crossed}):
        retagged = retag(session, community_id, now)
        for zone in crossed:
            if zone.community_id == community_id:
                _event(session, zone, "zone.updated", retagged)
    return len(crossed)
