r"""The legacy URLconf and Django's URL resolution before any view runs.

Mirrors `django.urls.resolvers.URLResolver.resolve` (the root pattern `^/`, then each
`path()` / `re_path()` of the legacy urlpatterns: RoutePattern regexes end in `\Z`,
RegexPattern endpoints ending in `$` are matched with `fullmatch`, `include()` prefixes with
`search` on `^prefix`) and `django.middleware.common.CommonMiddleware.should_redirect_with_slash`
(APPEND_SLASH: a path that matches nothing, does not end in `/` and matches with a slash
appended is redirected; anything else that matches nothing is Django's HTML 404).

The path is the decoded `request.path_info` (ASGI `scope["path"]` before Litestar folds `//`
and strips the trailing slash): `/api/v1/sources/1//` and `//api/v1/sources/` match nothing.
"""
from __future__ import annotations

import re
from enum import Enum

# `<int:pk>` is IntConverter: [0-9]+ (ASCII digits only: re's [0-9], not \d).
_INT = "[0-9]+"
# django.contrib.admin: every path under admin/ matches one of its patterns, the last being
# AdminSite.catch_all_view's `re_path(r"(?P<url>.*)$")` (final_catch_all_view, Django >= 3.2).
# `.` does not match a newline, and a RegexPattern endpoint ending in `$` is `fullmatch`ed.
_ADMIN_CATCH_ALL = re.compile(r"(?P<url>.*)$")

# The legacy project's urlpatterns, flattened (route regexes relative to the root `^/`).
LEGACY_ROUTES: tuple[str, ...] = (
    # core.urls under api/v1/
    r"api/v1/sources/\Z", rf"api/v1/sources/{_INT}/\Z",
    r"api/v1/layers/\Z", rf"api/v1/layers/{_INT}/\Z",
    r"api/v1/projects/\Z", rf"api/v1/projects/{_INT}/\Z",
    r"api/v1/wfs/\Z", r"api/v1/user-profile/\Z",
    # dj_rest_auth.urls under api/rest-auth/ (USE_JWT off: no token/ routes)
    r"api/rest-auth/password/reset/\Z", r"api/rest-auth/password/reset/confirm/\Z",
    r"api/rest-auth/login/\Z", r"api/rest-auth/logout/\Z", r"api/rest-auth/user/\Z",
    r"api/rest-auth/password/change/\Z",
    # dj_rest_auth.registration.urls under api/rest-auth/registration/
    r"api/rest-auth/registration/\Z", r"api/rest-auth/registration/verify-email/\Z",
    r"api/rest-auth/registration/resend-email/\Z",
    r"api/rest-auth/registration/account-confirm-email/(?P<key>[-:\w]+)/$",  # a re_path
    r"api/rest-auth/registration/account-email-verification-sent/\Z",
    # drf-spectacular views
    r"api/schema/\Z", r"api/swagger/\Z", r"api/redoc/\Z",
    # rest_framework.urls under api-auth/
    r"api-auth/login/\Z", r"api-auth/logout/\Z",
)
# samsyn's own URLs (not in the legacy URLconf): probes, the password-reset mail's link, the
# jobs API (as a DRF router would register it: `<int:pk>` details).
SAMSYN_ROUTES: tuple[str, ...] = (
    r"health\Z", r"ready\Z",
    r"api/rest-auth/password/reset/confirm/[^/]+/[^/]+/\Z",
    r"api/v1/jobs/\Z", rf"api/v1/jobs/{_INT}/\Z",
)
# Routes without parameters are looked up in a set (every request passes through here).
_STATIC = frozenset(p[:-2] for p in LEGACY_ROUTES + SAMSYN_ROUTES
                    if p.endswith(r"\Z") and re.escape(p[:-2]) == p[:-2].replace("-", r"\-"))
_DYNAMIC = tuple(re.compile(p) for p in LEGACY_ROUTES + SAMSYN_ROUTES if p[:-2] not in _STATIC)


class Match(Enum):
    VIEW = "view"          # a pattern matched: the view answers
    ADMIN = "admin"        # under admin/: the admin site's patterns (its catch-all included)
    REDIRECT = "redirect"  # APPEND_SLASH: the slash-appended path matches (the view redirects)
    NOT_FOUND = "404"      # Django's HTML 404 page


def _matches(path: str) -> Match | None:
    if not path.startswith("/"):   # the root resolver's `^/`
        return None
    rest = path[1:]
    if rest in _STATIC:
        return Match.VIEW
    for pattern in _DYNAMIC:
        # RegexPattern: an endpoint ending in `$` is fullmatch'ed; RoutePattern ends in `\Z`.
        if (pattern.fullmatch(rest) if pattern.pattern.endswith("$") else pattern.match(rest)):
            return Match.VIEW
    if rest.startswith("admin/") and _ADMIN_CATCH_ALL.fullmatch(rest[len("admin/"):]):
        return Match.ADMIN
    return None


def resolve(path: str) -> Match:
    """What Django does with `path_info` before any view code: see the module docstring."""
    found = _matches(path)
    if found is not None:
        return found
    if not path.endswith("/") and _matches(path + "/") is not None:
        return Match.REDIRECT
    return Match.NOT_FOUND
