"""Rules for pickup points: who keeps them, what their hours and stock may say."""

from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.catalogue import service as catalogue
from service.errors import NotFound, Unprocessable
from service.pickups import repository as repo
from service.pickups import schemas
from service.pickups.models import PickupPoint


def get_point(session: Session, principal: Principal, point_id: str) -> PickupPoint:
    point = repo.get_point(session, point_id)
    if point is None or not principal.sees(point.community_id):
        raise NotFound("No such pickup point.")
    return point


def _check_items(session: Session, stock: dict[str, int]) -> None:
    """Stock is kept per service category (what a delivery request orders)."""
    catalogue.require_categories(session, sorted(stock), "stock")


def create_point(
    session: Session, principal: Principal, data: schemas.PickupPointCreate
) -> PickupPoint:
    from service.places.service import visible_community

    community = visible_community(session, principal, data.community_id, "community_id")
    _check_items(session, data.stock)
    point = PickupPoint(
        community_id=community.id,
        name=data.name,
        lon=data.location.lon,
        lat=data.location.lat,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        stock=dict(data.stock),
        active=data.active,
    )
    session.add(point)
    session.flush()
    return point


def update_point(
    session: Session, principal: Principal, point_id: str, data: schemas.PickupPointUpdate
) -> PickupPoint:
    point = get_point(session, principal, point_id)
    changes = data.model_dump(exclude_unset=True)
    opens = changes.get("opens_at", point.opens_at)
    closes = changes.get("closes_at", point.closes_at)
    if schemas.minutes(closes) <= schemas.minutes(opens):
        field = "closes_at" if "closes_at" in changes else "opens_at"
        raise Unprocessable.on(field, "closes_at must be after opens_at")
    if "stock" in changes:
        _check_items(session, data.stock)
        point.stock = dict(data.stock)
    if "location" in changes:
        point.lon, point.lat = data.location.lon, data.location.lat
    for key in ("name", "opens_at", "closes_at", "active"):
        if key in changes:
            setattr(point, key, changes[key])
    session.flush()
    return point


def retire_point(session: Session, principal: Principal, point_id: str) -> PickupPoint:
    """Route plans name their pickup points, so a point is retired (inactive), not erased."""
    point = get_point(session, principal, point_id)
    point.active = False
    session.flush()
    return point
