"""Settings, read once from the environment (prefix ``WUSHE_`` except ``DATABASE_URL``)."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WUSHE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default="sqlite:///./wushe.db", validation_alias="DATABASE_URL")
    host: str = "127.0.0.1"
    port: int = 8000
    page_size_default: int = 50
    page_size_max: int = 200
    key_pepper: str = "development-only-pepper"
    log_level: str = "INFO"
    # Background loops (offer timeouts, request expiry) run inside the API process; tests turn
    # them off and call service.background.tick directly.
    background: bool = True
    background_interval_s: float = Field(default=5.0, gt=0)
    # When set, GET /metrics needs "Authorization: Bearer <token>".
    metrics_token: str | None = None
    # How long a responder has to accept or decline an offer before it times out.
    offer_timeout_s: int = Field(default=600, gt=0)
    # Live matching keeps each community's responders and their load in memory; a state older
    # than this is rebuilt in the background (picks up writes made by other processes).
    live_cache_ttl_s: float = Field(default=60.0, gt=0)
    # Database connections; the request thread pool is sized to match (see service.main).
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> "Settings":
        # A production deployment must bring its own pepper: a leaked default would let anyone
        # who reads the source precompute key hashes.
        if self.environment == "production" and self.key_pepper == "development-only-pepper":
            raise ValueError("WUSHE_KEY_PEPPER must be set in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
