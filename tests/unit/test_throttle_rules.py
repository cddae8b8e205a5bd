"""The throttles' pure rules: DRF's Throttled text and Retry-After, DRF's rate syntax, and the
client address behind trusted proxies."""
from __future__ import annotations

import pytest

from samsyn.api.client_address import client_address
from samsyn.api.views import throttled
from samsyn.settings import Rate, SettingsError, load_settings, parse_rate


@pytest.mark.parametrize(("wait", "text", "headers"), [
    (0.2, "Request was throttled. Expected available in 1 second.", {"Retry-After": "1"}),
    (1.0, "Request was throttled. Expected available in 1 second.", {"Retry-After": "1"}),
    (1.01, "Request was throttled. Expected available in 2 seconds.", {"Retry-After": "2"}),
    (59.5, "Request was throttled. Expected available in 60 seconds.", {"Retry-After": "60"}),
    (0.0, "Request was throttled. Expected available in 0 seconds.", {}),  # DRF: no header
    (None, "Request was throttled.", {}),
])
def test_drf_throttled_text_and_retry_after(wait: float | None, text: str,
                                            headers: dict[str, str]) -> None:
    assert throttled(wait) == (text, headers)


@pytest.mark.parametrize(("value", "rate"), [
    ("20/min", Rate(20, 60)), ("3/s", Rate(3, 1)), ("3/sec", Rate(3, 1)),
    ("5/hour", Rate(5, 3600)), ("100/day", Rate(100, 86_400)), ("7/m", Rate(7, 60)),
    (" 0/Minute ", Rate(0, 60)), ("", None), ("none", None), ("None", None),
])
def test_drf_rate_syntax(value: str, rate: Rate | None) -> None:
    assert parse_rate("X", value) == rate


@pytest.mark.parametrize("value", ["20", "20/", "/min", "x/min", "-1/min", "2/week", "1/min/s",
                                   "²/min", "1.5/min"])
def test_bad_rates_are_settings_errors(value: str) -> None:
    with pytest.raises(SettingsError, match="SAMSYN_THROTTLE_LOGIN_IP"):
        load_settings({"DATABASE_URL": "postgresql://x/y", "SAMSYN_THROTTLE_LOGIN_IP": value})


def test_settings_defaults_and_overrides() -> None:
    default = load_settings({"DATABASE_URL": "postgresql://x/y"})
    assert (default.throttle_login_ip, default.throttle_login_account) == (Rate(30, 60),
                                                                           Rate(10, 60))
    assert default.trusted_proxies == ()
    custom = load_settings({"DATABASE_URL": "postgresql://x/y",
                            "SAMSYN_THROTTLE_PASSWORD_RESET_ACCOUNT": "none",
                            "SAMSYN_TRUSTED_PROXIES": "10.0.0.1, 2001:db8::/32"})
    assert custom.throttle_password_reset_account is None
    assert custom.trusted_proxies == ("10.0.0.1/32", "2001:db8::/32")
    with pytest.raises(SettingsError, match="SAMSYN_TRUSTED_PROXIES"):
        load_settings({"DATABASE_URL": "postgresql://x/y", "SAMSYN_TRUSTED_PROXIES": "proxy"})


def _scope(peer: str | None, *forwarded: str) -> dict[str, object]:
    return {"client": (peer, 5000) if peer else None,
            "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded]}


TRUSTED = ("127.0.0.1/32", "10.0.0.0/8")


@pytest.mark.parametrize(("scope", "trusted", "key"), [
    (_scope("192.0.2.7", "203.0.113.1"), (), "192.0.2.7"),             # off by default
    (_scope("192.0.2.7", "203.0.113.1"), TRUSTED, "192.0.2.7"),        # untrusted peer
    (_scope("127.0.0.1", "203.0.113.1"), TRUSTED, "203.0.113.1"),
    (_scope("127.0.0.1"), TRUSTED, "127.0.0.1"),                       # no header
    # the client's own entries are left of the first untrusted hop, read from the right
    (_scope("127.0.0.1", "6.6.6.6, 203.0.113.1, 10.1.2.3"), TRUSTED, "203.0.113.1"),
    (_scope("127.0.0.1", "6.6.6.6", "203.0.113.1"), TRUSTED, "203.0.113.1"),  # two headers
    (_scope("127.0.0.1", "10.0.0.9, 10.0.0.8"), TRUSTED, "10.0.0.9"),  # all proxies
    (_scope("127.0.0.1", "junk, 10.0.0.8"), TRUSTED, "10.0.0.8"),      # garbage stops
    (_scope("127.0.0.1", "203.0.113.1:4711"), TRUSTED, "203.0.113.1"),
    (_scope("127.0.0.1", "[2001:db8:1:2::5]:443"), TRUSTED, "2001:db8:1:2::/64"),
    (_scope("2001:db8:1:2:aaaa::1"), (), "2001:db8:1:2::/64"),         # IPv6: its /64
    (_scope("::ffff:192.0.2.9"), (), "192.0.2.9"),
    (_scope(None), TRUSTED, "unknown"),
])
def test_client_address(scope: dict[str, object], trusted: tuple[str, ...], key: str) -> None:
    assert client_address(scope, trusted) == key
