"""Settings, read once from the environment (prefix ``WUSHE_`` except ``DATABASE_URL``)."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# sha256("wushe development-only data key"), url-safe base64: a valid Fernet key that only a
# development database may use (production refuses it).
DEVELOPMENT_DATA_KEY = "cK1Qa7YUONYt4ut361WaPaU54Tvtc8IWRI6kQf4ee6Q="

class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WUSHE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default="sqlite:///./wushe.db", validation_alias="DATABASE_URL")
    host: str = "127.0.0.1"
    port: int = 8000
    page_size_default: int = 50
    page_size_max: int = 200
    key_pepper: str = "development-only-pepper"
    # Fernet keys for residents' notes at rest, comma-separated; the first encrypts.
    data_keys: str = DEVELOPMENT_DATA_KEY
    log_level: str = "INFO"
    # Background loops (offer timeouts, request expiry) run inside the API process; tests turn
    # them off and call service.background.tick directly.
    background: bool = True
    background_interval_s: float = Field(default=5.0, gt=0)
    # Objects that live as long as the process (the app, once started; each warm state, once
    # built) are moved out of the garbage collector's way (gc.freeze), so its full passes
    # walk only what requests left behind. Tests, which start hundreds of apps in one
    # process, turn it off.
    gc_freeze: bool = True
    # When set, GET /metrics needs "Authorization: Bearer <token>".
    metrics_token: str | None = None
    # How long a responder has to accept or decline an offer before it times out.
    offer_timeout_s: int = Field(default=600, gt=0)
    # Batch dispatch runs. Engine: auto = procrastinate on PostgreSQL, local on SQLite.
    runs_engine: Literal["auto", "local", "procrastinate"] = "auto"
    # Attempts per run (a lost worker or a failed solve counts one) before it is failed.
    runs_max_attempts: int = Field(default=3, ge=1, le=100)
    # How often a running run stamps its heartbeat and publishes progress.
    runs_heartbeat_s: float = Field(default=1.0, gt=0)
    # A running run whose heartbeat is older than this was lost with its process; also the
    # age after which procrastinate counts a silent worker as stalled.
    runs_stale_s: float = Field(default=30.0, gt=0)
    # At most one run.progress event per run this often, when the best plan improved; 0: none.
    runs_progress_event_s: float = Field(default=10.0, ge=0)
    # Finished procrastinate jobs are deleted this many hours after they ended; 0: kept.
    runs_job_retention_h: int = Field(default=168, ge=0)
    # Live matching keeps each community's responders and their load in memory; this often
    # a state checks the community's change counter for writes by other processes, and is
    # rebuilt in the background if it moved (service.dispatch.warm).
    live_cache_ttl_s: float = Field(default=60.0, gt=0)
    # A checked API key is trusted this long without reading it again; 0: every request
    # reads it. A revocation or scope change made through this process applies at once,
    # one made through another process (another worker, the CLI) within this time.
    key_cache_s: float = Field(default=5.0, ge=0)
    # A service category read this long ago gives new requests their defaults without being
    # read again; as for keys, a change made through this process applies at once, one made
    # through another within this time; 0: read on every request.
    catalogue_cache_s: float = Field(default=5.0, ge=0)
    # API requests handled at once by this process (at most the connections less those kept
    # for background work); the others wait at the door (service.limits.Admission). Handlers
    # are mostly Python holding the GIL: beyond a few per core, more at once only take turns
    # (a live-matching load at 100 req/s was served at 65-85/s with 16-26 at once, 88-92/s
    # with 4-8).
    request_slots: int = Field(default=8, ge=1)
    # Database connections; the request thread pool is sized to match (see service.main).
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    # A pooled connection idle this long is pinged before use; one in steady use is not.
    db_ping_idle_s: float = Field(default=1.0, ge=0)
    # A batch run over a whole scope plans at most this many pending requests (413 beyond).
    runs_max_requests: int = Field(default=10_000, ge=1)
    # City scale (service.runs.split): independent parts of a run are packed together while
    # the packed part holds at most this many pending requests; 0: every part on its own.
    runs_part_requests: int = Field(default=100, ge=0)
    # wushe purge: personal data of work closed this many days ago is cleared.
    retention_days: int = Field(default=180, ge=0)
    # Bulk intake (POST /v1/requests/import, wushe import): rows and bytes per file.
    import_max_rows: int = Field(default=10_000, ge=1)
    import_max_bytes: int = Field(default=20_000_000, ge=1)
    # Any other request body (JSON); larger ones are refused with 413 before being read.
    body_max_bytes: int = Field(default=2_000_000, ge=1)
    # Token bucket per API key: requests per second and burst; 0 turns the limit off.
    rate_limit_per_s: float = Field(default=1000.0, ge=0)
    rate_limit_burst: int = Field(default=2000, ge=1)
    # Hours an Idempotency-Key's stored answer is kept (and the key cannot be reused).
    idempotency_ttl_h: int = Field(default=24, ge=1)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> "Settings":
        # A production deployment must bring its own pepper: a leaked default would let anyone
        # who reads the source precompute key hashes.
        if self.environment == "production" and self.key_pepper == "development-only-pepper":
            raise ValueError("WUSHE_KEY_PEPPER must be set in production")
        if self.environment == "production" and DEVELOPMENT_DATA_KEY in self.data_keys:
            raise ValueError("WUSHE_DATA_KEYS must be set in production (not the development key)")
        from cryptography.fernet import Fernet

        for key in [k.strip() for k in self.data_keys.split(",") if k.strip()] or [""]:
            try:
                Fernet(key.encode())
            except ValueError:
                raise ValueError(
                    "WUSHE_DATA_KEYS: each key must be 32 url-safe base64-encoded bytes "
                    "(Fernet.generate_key())"
                ) from None
        return self

    @model_validator(mode="after")
    def _stale_after_beats(self) -> "Settings":
        # A heartbeat as slow as the staleness limit would let the sweeper take a healthy run
        # for lost and run it twice.
        if self.runs_stale_s < 2 * self.runs_heartbeat_s:
            raise ValueError(
                f"WUSHE_RUNS_STALE_S ({self.runs_stale_s:g}) must be at least twice "
                f"WUSHE_RUNS_HEARTBEAT_S ({self.runs_heartbeat_s:g})"
            )
        return self


class InvalidSettings(ValueError):
    """The environment holds a setting the service cannot start with; the message names it."""


def _explain(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = "DATABASE_URL" if field in ("database_url", "DATABASE_URL") else f"WUSHE_{field}"
        where = f"{name.upper()}={error['input']!r}: " if field else ""
        lines.append(f"{where}{error['msg'].removeprefix('Value error, ')}")
    return "invalid settings: " + "; ".join(lines)


@lru_cache
def get_settings() -> Settings:
    """The settings; a bad value raises InvalidSettings naming the variable and the rule."""
    try:
        return Settings()
    except ValidationError as exc:
        raise InvalidSettings(_explain(exc)) from None
