"""Rules for places: who may create and change them, and the references they must respect."""

from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.errors import Conflict, Forbidden, NotFound, Unprocessable
from service.places import repository as repo
from service.places import schemas
from service.places.models import Community, District, Grid, Street
from service.types import dump_json


def _unique_code(session: Session, model: type, code: str) -> None:
    if repo.code_taken(session, model, code):
        raise Conflict(f"A {model.__tablename__} with code {code!r} already exists.")  # type: ignore[attr-defined]


def _admin_only(principal: Principal) -> None:
    if principal.role is not Role.admin:
        raise Forbidden("Only an admin may change districts, streets and communities.")


def get_district(session: Session, principal: Principal, district_id: str) -> District:
    district = repo.get_district(session, district_id)
    if district is None or not repo.district_has_visible(session, district_id, principal):
        raise NotFound("No such district.")
    return district


def get_street(session: Session, principal: Principal, street_id: str) -> Street:
    street = repo.get_street(session, street_id)
    if street is None or not repo.street_has_visible(session, street_id, principal):
        raise NotFound("No such street.")
    return street


def get_community(session: Session, principal: Principal, community_id: str) -> Community:
    community = repo.get_community(session, community_id)
    if community is None or not principal.sees(community.id):
        raise NotFound("No such community.")
    return community


def get_grid(session: Session, principal: Principal, grid_id: str) -> Grid:
    grid = repo.get_grid(session, grid_id)
    if grid is None or not principal.sees(grid.community_id):
        raise NotFound("No such grid.")
    if principal.role is Role.grid_app and grid.id not in principal.grid_ids:
        raise NotFound("No such grid.")
    return grid


def visible_community(
    session: Session, principal: Principal, community_id: str, field: str
) -> Community:
    """A community named in a request body: unknown and invisible look the same (422)."""
    community = repo.get_community(session, community_id)
    if community is None or not principal.sees(community.id):
        raise Unprocessable.on(field, f"unknown community {community_id!r}")
    return community


def visible_grid(session: Session, principal: Principal, grid_id: str, field: str) -> Grid:
    grid = repo.get_grid(session, grid_id)
    visible = grid is not None and principal.sees(grid.community_id)
    if visible and principal.role is Role.grid_app:
        visible = grid_id in principal.grid_ids
    if not visible:
        raise Unprocessable.on(field, f"unknown grid {grid_id!r}")
    return grid  # type: ignore[return-value]


def _apply(obj: object, data: dict) -> None:  # type: ignore[type-arg]
    for key, value in data.items():
        if key == "centre":
            obj.lon, obj.lat = value["coordinates"]  # type: ignore[attr-defined]
        else:
            setattr(obj, key, value)


def create_district(
    session: Session, principal: Principal, data: schemas.DistrictCreate
) -> District:
    _admin_only(principal)
    _unique_code(session, District, data.code)
    district = District(code=data.code, name=data.name, lon=data.centre.lon, lat=data.centre.lat)
    session.add(district)
    session.flush()
    return district


def create_street(session: Session, principal: Principal, data: schemas.StreetCreate) -> Street:
    _admin_only(principal)
    if repo.get_district(session, data.district_id) is None:
        raise Unprocessable.on("district_id", f"unknown district {data.district_id!r}")
    _unique_code(session, Street, data.code)
    street = Street(
        district_id=data.district_id,
        code=data.code,
        name=data.name,
        lon=data.centre.lon,
        lat=data.centre.lat,
    )
    session.add(street)
    session.flush()
    return street


def create_community(
    session: Session, principal: Principal, data: schemas.CommunityCreate
) -> Community:
    _admin_only(principal)
    if repo.get_street(session, data.street_id) is None:
        raise Unprocessable.on("street_id", f"unknown street {data.street_id!r}")
    _unique_code(session, Community, data.code)
    community = Community(
        street_id=data.street_id,
        code=data.code,
        name=data.name,
        lon=data.centre.lon,
        lat=data.centre.lat,
        outline=dump_json(data.outline),
        auto_dispatch=data.auto_dispatch,
    )
    session.add(community)
    session.flush()
    return community


def create_grid(session: Session, principal: Principal, data: schemas.GridCreate) -> Grid:
    if principal.role not in (Role.admin, Role.dispatcher):
        raise Forbidden("Only dispatchers and admins create grids.")
    visible_community(session, principal, data.community_id, "community_id")
    _unique_code(session, Grid, data.code)
    grid = Grid(
        community_id=data.community_id,
        code=data.code,
        name=data.name,
        lon=data.centre.lon,
        lat=data.centre.lat,
        outline=dump_json(data.outline),
    )
    session.add(grid)
    session.flush()
    return grid


def update_district(
    session: Session, principal: Principal, district_id: str, data: schemas.PlaceUpdate
) -> District:
    district = get_district(session, principal, district_id)
    _admin_only(principal)
    _apply(district, data.model_dump(exclude_unset=True, mode="json"))
    session.flush()
    return district


def update_street(
    session: Session, principal: Principal, street_id: str, data: schemas.PlaceUpdate
) -> Street:
    street = get_street(session, principal, street_id)
    _admin_only(principal)
    _apply(street, data.model_dump(exclude_unset=True, mode="json"))
    session.flush()
    return street


def update_community(
    session: Session, principal: Principal, community_id: str, data: schemas.CommunityUpdate
) -> Community:
    community = get_community(session, principal, community_id)
    if principal.role not in (Role.admin, Role.dispatcher):
        raise Forbidden("Only dispatchers and admins change communities.")
    _apply(community, data.model_dump(exclude_unset=True, mode="json"))
    session.flush()
    return community


def update_grid(
    session: Session, principal: Principal, grid_id: str, data: schemas.GridUpdate
) -> Grid:
    grid = get_grid(session, principal, grid_id)
    if principal.role not in (Role.admin, Role.dispatcher):
        raise Forbidden("Only dispatchers and admins change grids.")
    _apply(grid, data.model_dump(exclude_unset=True, mode="json"))
    session.flush()
    return grid
