"""Settings: one Struct read from the environment once (get_settings())."""
from __future__ import annotations

import functools
import os

import msgspec

# The legacy sample.env key: only a development default. A deployment sets SECRET_KEY to the
# legacy Django SECRET_KEY so that existing JWTs (and Django signatures) stay valid.
DEV_SECRET_KEY = "abdsafadkjhry37yfadskjhfu7432qt"
PROFILES = ("default", "locmem", "smtp")


class SettingsError(RuntimeError):
    """The environment does not describe a usable configuration."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    secret_key: str = DEV_SECRET_KEY
    profile: str = "default"
    pool_size: int = 8
    max_overflow: int = 8
    log_level: str = "INFO"
    broker_url: str = ""
    max_body_bytes: int = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB)
    # The login key (authtoken_token) is accepted as a Bearer credential: like a session it
    # ends, after this many seconds from its creation (SAMSYN_LOGIN_KEY_LIFETIME).
    login_key_lifetime: int = 14 * 86_400
    # Django's DATA_UPLOAD_MAX_NUMBER_FIELDS / _FILES: form, multipart and query-string fields
    # (and multipart files) beyond these are a 400 before the parser does the work.
    data_upload_max_number_fields: int = 1000
    data_upload_max_number_files: int = 100


def normalize_database_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and pin the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://", "postgis://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate the settings; raises SettingsError with a clear message."""
    env = dict(os.environ if env is None else env)
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        raise SettingsError("DATABASE_URL is not set (e.g. postgresql://user@127.0.0.1:5432/maps)")
    url = normalize_database_url(url)
    if not url.startswith("postgresql+psycopg://"):
        raise SettingsError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]!r}")
    profile = env.get("SAMSYN_PROFILE", "default")
    if profile not in PROFILES:
        raise SettingsError(f"SAMSYN_PROFILE must be one of {', '.join(PROFILES)}, got {profile!r}")
    try:
        pool_size = int(env.get("SAMSYN_POOL_SIZE", "8"))
        max_body = int(env.get("SAMSYN_MAX_BODY_BYTES", "2621440"))
        max_fields = int(env.get("SAMSYN_DATA_UPLOAD_MAX_NUMBER_FIELDS", "1000"))
        max_files = int(env.get("SAMSYN_DATA_UPLOAD_MAX_NUMBER_FILES", "100"))
    except ValueError as exc:
        raise SettingsError("SAMSYN_POOL_SIZE / SAMSYN_MAX_BODY_BYTES / "
                            f"SAMSYN_DATA_UPLOAD_MAX_NUMBER_FIELDS / _FILES must be integers: {exc}"
                            ) from None
    try:
        key_lifetime = int(env.get("SAMSYN_LOGIN_KEY_LIFETIME", str(14 * 86_400)))
    except ValueError:
        raise SettingsError("SAMSYN_LOGIN_KEY_LIFETIME must be a number of seconds") from None
    if key_lifetime <= 0:
        raise SettingsError("SAMSYN_LOGIN_KEY_LIFETIME must be a positive number of seconds")
    secret = env.get("SECRET_KEY", DEV_SECRET_KEY)
    if not secret:
        raise SettingsError("SECRET_KEY is empty: set it to the legacy Django SECRET_KEY")
    return Settings(
        database_url=url,
        secret_key=secret,
        profile=profile,
        pool_size=pool_size,
        log_level=env.get("SAMSYN_LOG_LEVEL", "INFO").upper(),
        broker_url=env.get("SAMSYN_BROKER_URL", ""),
        max_body_bytes=max_body,
        login_key_lifetime=key_lifetime,
        data_upload_max_number_fields=max_fields,
        data_upload_max_number_files=max_files,
    )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
