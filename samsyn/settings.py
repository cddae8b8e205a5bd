"""Settings: one Struct read from the environment once (get_settings())."""
from __future__ import annotations

import functools
import ipaddress
import os

import msgspec

# The legacy sample.env key: only a development default. A deployment sets SECRET_KEY to the
# legacy Django SECRET_KEY so that existing JWTs (and Django signatures) stay valid.
DEV_SECRET_KEY = "abdsafadkjhry37yfadskjhfu7432qt"
PROFILES = ("default", "locmem", "smtp")


class SettingsError(RuntimeError):
    """The environment does not describe a usable configuration."""


class Rate(msgspec.Struct, frozen=True):
    """A throttle rate: at most `requests` per `seconds` (DRF's "5/min")."""

    requests: int
    seconds: int


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_rate(name: str, value: str) -> Rate | None:
    """DRF's SimpleRateThrottle.parse_rate syntax ("20/min", "3/s", "100/day": the period's
    first letter counts); "" or "none" switches the throttle off. Raises SettingsError."""
    text = value.strip()
    if text.lower() in ("", "none", "off"):
        return None
    num, _, period = text.partition("/")
    seconds = 0 if "/" in period else _PERIODS.get(period.strip()[:1].lower(), 0)
    if not (num.strip().isascii() and num.strip().isdigit() and seconds):
        raise SettingsError(f"{name} must be a rate such as 20/min (per s, min, hour or day) "
                            f"or none, got {value!r}")
    return Rate(requests=int(num), seconds=seconds)


def parse_networks(name: str, value: str) -> tuple[str, ...]:
    """Comma-separated addresses or networks (CIDR), normalized; raises SettingsError."""
    out = []
    for item in value.replace(" ", ",").split(","):
        if item:
            try:
                out.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise SettingsError(f"{name}: {item!r} is not an IP address or network") from None
    return tuple(out)


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
    # Login and password-reset throttles (contract/DRIFT.md "Note — login and password-reset
    # throttling"): per client address every request counts, per account the failed logins
    # and every reset request for an address. None: off.
    throttle_login_ip: Rate | None = Rate(30, 60)
    throttle_login_account: Rate | None = Rate(10, 60)
    throttle_password_reset_ip: Rate | None = Rate(20, 3600)
    throttle_password_reset_account: Rate | None = Rate(5, 3600)
    # Peers whose X-Forwarded-For names the client (the reverse proxy); empty: the TCP peer.
    trusted_proxies: tuple[str, ...] = ()
    # Where the mail job delivers the outbox (SAMSYN_SMTP_HOST / SAMSYN_SMTP_PORT): Django's
    # default EMAIL_HOST / EMAIL_PORT, localhost:25.
    smtp_host: str = "localhost"
    smtp_port: int = 25


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
    try:
        smtp_port = int(env.get("SAMSYN_SMTP_PORT", "25"))
    except ValueError:
        raise SettingsError("SAMSYN_SMTP_PORT must be an integer (a TCP port)") from None
    rates = {name: parse_rate(f"SAMSYN_{name.upper()}", env[f"SAMSYN_{name.upper()}"])
             for name in ("throttle_login_ip", "throttle_login_account",
                          "throttle_password_reset_ip", "throttle_password_reset_account")
             if f"SAMSYN_{name.upper()}" in env}
    proxies = parse_networks("SAMSYN_TRUSTED_PROXIES", env.get("SAMSYN_TRUSTED_PROXIES", ""))
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
        trusted_proxies=proxies,
        smtp_host=env.get("SAMSYN_SMTP_HOST", "localhost"),
        smtp_port=smtp_port,
        **rates,  # type: ignore[arg-type]
    )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
