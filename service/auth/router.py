from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth import repository as repo
from service.auth import service as keys
from service.auth.principal import Principal, Role, SessionDep, require
from service.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from service.errors import COMMON, NotFound, responses
from service.pagination import Page, PageParams

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])

Issuer = Annotated[Principal, Depends(require(Role.dispatcher))]


@router.post("", status_code=201, responses=responses(*COMMON))
def create_api_key(session: SessionDep, principal: Issuer, body: ApiKeyCreate) -> ApiKeyCreated:
    key, secret = keys.create(session, principal, body)
    return ApiKeyCreated.model_validate(
        {**ApiKeyOut.model_validate(key).model_dump(), "key": secret}
    )


@router.get("", responses=responses(*COMMON))
def list_api_keys(
    session: SessionDep,
    principal: Issuer,
    page: Annotated[PageParams, Depends()],
    role: Role | None = None,
) -> Page[ApiKeyOut]:
    items, cursor = repo.list_keys(session, principal, page, role.value if role else None)
    return Page(items=[ApiKeyOut.model_validate(k) for k in items], next_cursor=cursor)


@router.get("/{key_id}", responses=responses(*COMMON, NotFound))
def get_api_key(session: SessionDep, principal: Issuer, key_id: str) -> ApiKeyOut:
    return ApiKeyOut.model_validate(keys.get(session, principal, key_id))


@router.post("/{key_id}/revoke", responses=responses(*COMMON, NotFound))
def revoke_api_key(session: SessionDep, principal: Issuer, key_id: str) -> ApiKeyOut:
    return ApiKeyOut.model_validate(keys.revoke(session, principal, key_id))
