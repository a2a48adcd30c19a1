"""Runtime configuration, read from environment variables.

Every setting has a safe default so that a fresh checkout runs on an embedded
SQLite database with no configuration at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Process-wide settings. Build with :func:`get_settings`."""

    database_url: str
    home: Path
    geocoder: str = "ban"  # "ban" (BANFrance), "nominatim" or "offline"
    geocoder_user_agent: str = "passerelle-e2c"
    geocoder_domain: str | None = None  # override the provider host (tests, self-hosted)
    geocoder_scheme: str = "https"
    geocoder_min_delay_s: float = 0.1
    geocoder_timeout_s: float = 5.0
    router_url: str | None = None  # OSRM-compatible routing endpoint, optional
    session_timeout_min: int = 60
    max_failed_logins: int = 5
    lockout_min: int = 15
    max_upload_mb: int = 10
    import_max_rows: int = 50_000  # rows per imported file (PASSERELLE_IMPORT_MAX_ROWS)


def default_home() -> Path:
    return Path(_env("PASSERELLE_HOME", str(REPO_ROOT / "var")))


def default_database_url(home: Path | None = None) -> str:
    home = home or default_home()
    return f"sqlite:///{(home / 'passerelle.db').as_posix()}"


def get_settings() -> Settings:
    home = default_home()
    return Settings(
        database_url=_env("PASSERELLE_DATABASE_URL", default_database_url(home)),
        home=home,
        geocoder=_env("PASSERELLE_GEOCODER", "ban"),
        geocoder_user_agent=_env("PASSERELLE_GEOCODER_USER_AGENT", "passerelle-e2c"),
        geocoder_domain=os.environ.get("PASSERELLE_GEOCODER_DOMAIN") or None,
        geocoder_scheme=_env("PASSERELLE_GEOCODER_SCHEME", "https"),
        geocoder_min_delay_s=float(_env("PASSERELLE_GEOCODER_MIN_DELAY", "0.1")),
        geocoder_timeout_s=float(_env("PASSERELLE_GEOCODER_TIMEOUT", "5")),
        router_url=os.environ.get("PASSERELLE_ROUTER_URL") or None,
        session_timeout_min=int(_env("PASSERELLE_SESSION_TIMEOUT_MIN", "60")),
        max_failed_logins=int(_env("PASSERELLE_MAX_FAILED_LOGINS", "5")),
        lockout_min=int(_env("PASSERELLE_LOCKOUT_MIN", "15")),
        max_upload_mb=int(_env("PASSERELLE_MAX_UPLOAD_MB", "10")),
        import_max_rows=int(_env("PASSERELLE_IMPORT_MAX_ROWS", "50000")),
    )
