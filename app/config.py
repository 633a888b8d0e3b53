"""Settings from the environment; secrets that are not given are generated once and kept."""

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path("data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DATA_DIR}/tavoli.db",
        description="SQLAlchemy URL; SQLite runs in WAL mode.",
    )
    hub_url: str = Field(default="memory://", description="Realtime hub backend.")
    tavoli_admin_token: str = Field(
        default="", description="Organiser secret; generated into data/ when empty."
    )
    tavoli_secret_key: str = Field(
        default="", description="Signs cookies and CSRF tokens; generated into data/ when empty."
    )
    tavoli_public_url: str = Field(
        default="", description="Base URL printed in QR codes; the request's URL when empty."
    )
    tavoli_secure_cookies: bool = Field(
        default=False,
        description=(
            "Mark cookies Secure even on plain-HTTP requests; they are Secure on HTTPS ones"
            " anyway (behind a proxy: uvicorn --proxy-headers and FORWARDED_ALLOW_IPS)."
        ),
    )
    tavoli_push_interval: float = Field(
        default=0.1,
        description=(
            "Longest wait, in seconds, for every connection to take a table's push before"
            " the next one is built (pushes are otherwise paced by the load)."
        ),
    )
    tavoli_presence_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "With HUB_URL=redis://: a worker's connected participants expire from the shared"
            " count after this long unless it renews them (every third of it), so those of"
            " a killed worker disappear."
        ),
    )
    tavoli_warm_pdf: bool = Field(
        default=True, description="Start a PDF worker at start (the first PDF is then fast)."
    )
    tavoli_gc_pace: bool = Field(
        default=True,
        description=(
            "Full garbage collections at quiet moments only (app/gc_pace.py): with"
            " thousands of sockets one stops the worker for half a second."
        ),
    )
    tavoli_threads: int = Field(
        default=40,
        ge=4,
        le=200,
        description="Worker threads for requests; the database pool is sized from it.",
    )
    tavoli_send_queue: int = Field(
        default=64, description="Pushes a slow client may have pending before it is dropped."
    )
    tavoli_send_buffer_bytes: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        description="Bytes of pushes a slow client may have pending before it is dropped.",
    )
    tavoli_send_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds one send may wait for a client that does not read; then 1013.",
    )
    tavoli_header_timeout: float = Field(
        default=10.0,
        ge=0,
        description=(
            "Seconds a client has to send a request's line and headers (app/protocol.py);"
            " then the connection is closed. 0 turns the deadline off."
        ),
    )
    tavoli_protocols: Literal["fast", "plain"] = Field(
        default="fast",
        description=(
            "fast: serve with app/live/wire.py's and app/protocol.py's protocols when the"
            " installed uvicorn has what they extend; plain: uvicorn's own (comparisons, tests)."
        ),
    )
    tavoli_rate_limits: bool = Field(
        default=True, description="Enforce the rate limits of app/ratelimit.py (429)."
    )
    tavoli_limits_url: str = Field(
        default="memory://",
        description="Rate limit counters: memory:// per worker, redis://host:6379 shared.",
    )
    tavoli_limits: str = Field(
        default="",
        description="Overrides of app/ratelimit.py's limits: 'join=2000/hour, websocket=400'.",
    )
    tavoli_max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Largest request body (413 beyond); fits a 20,000-character synthesis.",
    )
    tavoli_report_min_group: int = Field(
        default=3,
        ge=1,
        description="Reports show a stakeholder category with fewer people as '< N' (privacy).",
    )
    tavoli_report_queue: int = Field(
        default=8,
        ge=1,
        description=(
            "PDF, Word and Excel files being made or waiting, per worker; past it a download "
            "gets 503 with Retry-After (votes never wait behind reports)."
        ),
    )
    tavoli_report_wait: float = Field(
        default=5.0,
        ge=0,
        description=(
            "Seconds the downloads page waits for a slow file before it shows that the file "
            "is being prepared (202, a page that checks again until the file comes)."
        ),
    )
    tavoli_purge_interval: float = Field(
        default=3600,
        ge=0,
        description="Seconds between two retention sweeps (the first at start); 0 turns them off.",
    )

    @property
    def admin_token(self) -> str:
        return self.tavoli_admin_token or _stored_secret("admin-token")

    @property
    def secret_key(self) -> str:
        return self.tavoli_secret_key or _stored_secret("secret-key")


def _stored_secret(name: str) -> str:
    """Read a generated secret from data/, creating it (mode 0600) on first use."""
    path = DATA_DIR / f".{name}"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
