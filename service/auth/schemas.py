from datetime import datetime

from pydantic import Field

from service.auth.principal import Role
from service.types import Instant, Name, OutModel, StrictModel


class ApiKeyCreate(StrictModel):
    name: Name
    role: Role
    street_id: str | None = None
    community_ids: list[str] = Field(default_factory=list, max_length=100)
    grid_ids: list[str] = Field(default_factory=list, max_length=500)
    responder_id: str | None = None
    expires_at: Instant | None = Field(default=None, description="Defaults to one year from now")


class ApiKeyOut(OutModel):
    id: str
    name: str
    prefix: str
    role: Role
    street_id: str | None
    community_ids: list[str]
    grid_ids: list[str]
    responder_id: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret: shown this once, stored only as a hash")
