from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, Conflict, NotFound, responses
from service.pagination import Page, PageParams
from service.places import repository as repo
from service.places import schemas
from service.places import service as places

router = APIRouter(prefix="/v1", tags=["places"])

Reader = Annotated[Principal, Depends(require(*Role))]
Writer = Annotated[Principal, Depends(require(Role.dispatcher))]
Pages = Annotated[PageParams, Depends()]


@router.get("/districts", responses=responses(*COMMON))
def list_districts(
    session: SessionDep, principal: Reader, page: Pages, code: str | None = None
) -> Page[schemas.DistrictOut]:
    items, cursor = repo.list_districts(session, principal, page, code)
    return Page(items=[schemas.DistrictOut.model_validate(i) for i in items], next_cursor=cursor)


@router.post("/districts", status_code=201, responses=responses(*COMMON, Conflict))
def create_district(
    session: SessionDep, principal: Writer, body: schemas.DistrictCreate
) -> schemas.DistrictOut:
    return schemas.DistrictOut.model_validate(places.create_district(session, principal, body))


@router.get("/districts/{district_id}", responses=responses(*COMMON, NotFound))
def get_district(session: SessionDep, principal: Reader, district_id: str) -> schemas.DistrictOut:
    return schemas.DistrictOut.model_validate(places.get_district(session, principal, district_id))


@router.patch("/districts/{district_id}", responses=responses(*COMMON, NotFound))
def update_district(
    session: SessionDep, principal: Writer, district_id: str, body: schemas.PlaceUpdate
) -> schemas.DistrictOut:
    return schemas.DistrictOut.model_validate(
        places.update_district(session, principal, district_id, body)
    )


@router.get("/streets", responses=responses(*COMMON))
def list_streets(
    session: SessionDep,
    principal: Reader,
    page: Pages,
    district_id: str | None = None,
    code: str | None = None,
) -> Page[schemas.StreetOut]:
    items, cursor = repo.list_streets(session, principal, page, district_id, code)
    return Page(items=[schemas.StreetOut.model_validate(i) for i in items], next_cursor=cursor)


@router.post("/streets", status_code=201, responses=responses(*COMMON, Conflict))
def create_street(
    session: SessionDep, principal: Writer, body: schemas.StreetCreate
) -> schemas.StreetOut:
    return schemas.StreetOut.model_validate(places.create_street(session, principal, body))


@router.get("/streets/{street_id}", responses=responses(*COMMON, NotFound))
def get_street(session: SessionDep, principal: Reader, street_id: str) -> schemas.StreetOut:
    return schemas.StreetOut.model_validate(places.get_street(session, principal, street_id))


@router.patch("/streets/{street_id}", responses=responses(*COMMON, NotFound))
def update_street(
    session: SessionDep, principal: Writer, street_id: str, body: schemas.PlaceUpdate
) -> schemas.StreetOut:
    return schemas.StreetOut.model_validate(
        places.update_street(session, principal, street_id, body)
    )


@router.get("/communities", responses=responses(*COMMON))
def list_communities(
    session: SessionDep,
    principal: Reader,
    page: Pages,
    street_id: str | None = None,
    code: str | None = None,
) -> Page[schemas.CommunityOut]:
    items, cursor = repo.list_communities(session, principal, page, street_id, code)
    return Page(items=[schemas.CommunityOut.model_validate(i) for i in items], next_cursor=cursor)


@router.post("/communities", status_code=201, responses=responses(*COMMON, Conflict))
def create_community(
    session: SessionDep, principal: Writer, body: schemas.CommunityCreate
) -> schemas.CommunityOut:
    return schemas.CommunityOut.model_validate(places.create_community(session, principal, body))


@router.get("/communities/{community_id}", responses=responses(*COMMON, NotFound))
def get_community(
    session: SessionDep, principal: Reader, community_id: str
) -> schemas.CommunityOut:
    return schemas.CommunityOut.model_validate(
        places.get_community(session, principal, community_id)
    )


@router.patch("/communities/{community_id}", responses=responses(*COMMON, NotFound))
def update_community(
    session: SessionDep, principal: Writer, community_id: str, body: schemas.CommunityUpdate
) -> schemas.CommunityOut:
    return schemas.CommunityOut.model_validate(
        places.update_community(session, principal, community_id, body)
    )


@router.get("/grids", responses=responses(*COMMON))
def list_grids(
    session: SessionDep,
    principal: Reader,
    page: Pages,
    community_id: str | None = None,
    code: str | None = None,
) -> Page[schemas.GridOut]:
    items, cursor = repo.list_grids(session, principal, page, community_id, code)
    return Page(items=[schemas.GridOut.model_validate(i) for i in items], next_cursor=cursor)


@router.post("/grids", status_code=201, responses=responses(*COMMON, Conflict))
def create_grid(
    session: SessionDep, principal: Writer, body: schemas.GridCreate
) -> schemas.GridOut:
    return schemas.GridOut.model_validate(places.create_grid(session, principal, body))


@router.get("/grids/{grid_id}", responses=responses(*COMMON, NotFound))
def get_grid(session: SessionDep, principal: Reader, grid_id: str) -> schemas.GridOut:
    return schemas.GridOut.model_validate(places.get_grid(session, principal, grid_id))


@router.patch("/grids/{grid_id}", responses=responses(*COMMON, NotFound))
def update_grid(
    session: SessionDep, principal: Writer, grid_id: str, body: schemas.GridUpdate
) -> schemas.GridOut:
    return schemas.GridOut.model_validate(places.update_grid(session, principal, grid_id, body))
