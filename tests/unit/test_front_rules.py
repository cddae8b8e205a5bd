"""The front layer's Django rules, asserted for every input of their kind (no database needed):
URL resolution + APPEND_SLASH (compat.urls), django-cors-headers (compat.cors), the admin
site's anonymous redirects, and the request encoding DRF's parsers get (compat.parsing)."""
from __future__ import annotations

import asyncio
import base64
import codecs
import json
import re
import warnings
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samsyn.api.front import Front
from samsyn.app import create_litestar
from samsyn.compat import cors, negotiation, parsing, urls

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import cgi  # the stdlib function Django 4.1 parses Content-Type with (removed in 3.13)

CONTRACT_PATHS = json.loads(open("contract/openapi.json").read())["paths"]
OTHER_LEGACY_PATHS = ["/api/swagger/", "/api/redoc/", "/api-auth/login/", "/api-auth/logout/",
                      "/api/rest-auth/registration/account-email-verification-sent/"]
APP = Front(create_litestar())
PATH_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
ids = st.integers(min_value=0, max_value=10**30).map(str)


def legacy_path(template: str, pk: str) -> str:
    return template.replace("{id}", pk)


def call(method: str, path: str, headers: list[tuple[str, str]] = (), query: bytes = b"",
         body: bytes = b"") -> tuple[int, list[tuple[str, str]], bytes]:
    """One request through the ASGI stack, as the server hands it over (path decoded)."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": quote(path, safe="/").encode(),
        "query_string": query, "root_path": "", "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers]}
    out: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], message["headers"]
        else:
            chunks.append(message.get("body", b""))

    asyncio.run(APP(scope, receive, send))
    return out["status"], [(k.decode(), v.decode("latin-1")) for k, v in out["headers"]], \
        b"".join(chunks)


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name]
    assert len(values) <= 1, (name, values)
    return values[0] if values else None


# --------------------------------------------------------------------- URL resolution


@given(st.sampled_from(sorted(CONTRACT_PATHS) + OTHER_LEGACY_PATHS), ids)
def test_every_legacy_path_matches_and_its_slashless_form_redirects(template, pk):
    path = legacy_path(template, pk)
    assert urls.resolve(path) is urls.Match.VIEW
    assert urls.resolve(path[:-1]) is urls.Match.REDIRECT


@given(st.sampled_from(sorted(CONTRACT_PATHS) + OTHER_LEGACY_PATHS), ids,
       st.integers(min_value=0, max_value=4), st.integers(min_value=1, max_value=3))
def test_a_doubled_slash_anywhere_matches_nothing(template, pk, at, extra):
    """Django's resolver matches the path as sent: no pattern has an empty segment."""
    path = legacy_path(template, pk)
    slashes = [m.start() for m in re.finditer("/", path)]
    i = slashes[min(at, len(slashes) - 1)]
    doubled = path[:i] + "/" * extra + path[i:]
    assert urls.resolve(doubled) is urls.Match.NOT_FOUND


@given(st.sampled_from(sorted(t for t in CONTRACT_PATHS if "{id}" in t)),
       st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=8))
def test_detail_ids_are_ascii_digits_only(template, pk):
    expected = urls.Match.VIEW if re.fullmatch("[0-9]+", pk) else urls.Match.NOT_FOUND
    assert urls.resolve(legacy_path(template, pk)) is expected


@given(PATH_TEXT)
def test_under_admin_everything_matches_but_a_newline(rest):
    """AdminSite's catch-all `(?P<url>.*)$` is fullmatched: `.` stops at a newline."""
    expected = urls.Match.NOT_FOUND if "\n" in rest else urls.Match.ADMIN
    assert urls.resolve("/admin/" + rest) is expected


@given(PATH_TEXT)
def test_unknown_paths(rest):
    path = "/zz/" + rest
    assert urls.resolve(path) is urls.Match.NOT_FOUND


def test_doubled_slash_detail_is_the_django_404_page():
    status, headers, body = call("GET", "/api/v1/sources/1//")
    assert status == 404
    assert header(headers, "content-type") == "text/html; charset=utf-8"
    assert header(headers, "vary") == "origin"
    assert header(headers, "x-frame-options") == "DENY"
    assert b"Page not found at /api/v1/sources/1//" in body
    for path in ("//api/v1/sources/", "/api/v1//sources/", "/api/schema//", "/api-auth//login/",
                 "/api/v1/sources/1/x/", "/", "/api/"):
        assert call("GET", path)[0] == 404, path
        assert call("HEAD", path)[2] == b"", path


# --------------------------------------------------------------------- CORS

ORIGINS = st.one_of(st.none(), st.just(""), st.just("null"), st.just("http://[::1"),
                    st.just("http://localhost:3000"), st.text(st.characters(
                        min_codepoint=0x20, max_codepoint=0xff), max_size=20))


def expected_cors(method: str, origins: list[str], path: str) -> dict[str, str | None]:
    """django-cors-headers 4.0.0's add_response_headers for the legacy settings."""
    if re.match(r"^.*$", path) is None:  # CORS_URLS_REGEX on path_info
        return {"vary_origin": None, "access-control-allow-origin": None}
    origin = ",".join(origins) if origins else None
    allowed = bool(origin)
    if allowed:
        try:
            urlsplit(origin)
        except ValueError:
            allowed = False
    options = allowed and method == "OPTIONS"
    return {
        "vary_origin": "yes",
        "access-control-allow-origin": "*" if allowed else None,
        "access-control-allow-headers": ("accept, authorization, content-type, user-agent, "
                                         "x-csrftoken, x-requested-with") if options else None,
        "access-control-allow-methods": "DELETE, GET, OPTIONS, PATCH, POST, PUT" if options
        else None,
        "access-control-max-age": "86400" if options else None,
    }


@settings(max_examples=150, deadline=None)
@given(method=st.sampled_from(["GET", "HEAD", "OPTIONS", "POST", "DELETE"]),
       origins=st.lists(ORIGINS.filter(lambda o: o is not None), max_size=2),
       acrm=st.lists(st.sampled_from(["", "GET", "PUT", "x"]), max_size=2),
       path=st.sampled_from(["/zz/", "/api/v1/sources", "/admin/x", "/api/v1/sources/1//",
                             "/a\nb/", "/nope\n"]),
       upper=st.booleans())
def test_cors_rules(method, origins, acrm, path, upper):
    headers = [("Origin" if upper else "origin", o) for o in origins]
    headers += [("Access-Control-Request-Method", m) for m in acrm]
    status, out, body = call(method, path, headers)
    want = expected_cors(method, origins, path)
    enabled = want["vary_origin"] is not None
    if enabled and method == "OPTIONS" and acrm:   # the preflight answer, on any path
        assert (status, body) == (200, b"")
        assert header(out, "content-length") == "0"
        assert header(out, "content-type") == "text/html; charset=utf-8"
        assert header(out, "vary") == "origin"
        assert header(out, "x-frame-options") is None
        assert header(out, "allow") is None
    vary = header(out, "vary") or ""
    has_origin = "origin" in [t.strip().lower() for t in vary.split(",")]
    assert has_origin is enabled
    for name, value in want.items():
        if name != "vary_origin":
            assert header(out, name) == value, (name, out)
    assert header(out, "access-control-expose-headers") is None
    assert header(out, "access-control-allow-credentials") is None


def test_preflight_without_origin_is_still_answered():
    status, out, body = call("OPTIONS", "/api/v1/sources/",
                             [("Access-Control-Request-Method", "POST")])
    assert (status, body, header(out, "vary")) == (200, b"", "origin")
    assert header(out, "access-control-allow-origin") is None


@given(st.lists(st.sampled_from([b"Accept", b"Cookie", b"origin", b"Origin", b"*",
                                 b"Accept-Language"]), max_size=4),
       st.sampled_from([b", ", b",", b" ,  "]))
def test_patch_vary(tokens, sep):
    result = cors.patch_vary([sep.join(tokens)] if tokens else [])
    if b"*" in tokens:
        assert result == b"*"
        return
    out = result.split(b", ")
    if any(t.lower() == b"origin" for t in tokens):
        assert out == tokens
    else:
        assert out == [*tokens, b"origin"]


# --------------------------------------------------------------------- admin


def django_next(path: str, query: str) -> str:
    full = quote(path, safe="/:@&+$,-_.!~*'()")
    if query:
        full += "?" + quote(query, safe="/#%[]=:;$&()+,!?*@'~")
    return full


@settings(max_examples=60, deadline=None)
@given(rest=st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)),
                    max_size=20).filter(lambda r: r not in ("login/", "logout/")),
       query=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=10),
       method=st.sampled_from(["GET", "HEAD", "OPTIONS"]))
def test_admin_redirects_every_anonymous_request_to_login(rest, query, method):
    path = "/admin/" + rest
    status, out, body = call(method, path, query=query.encode())
    assert (status, body) == (302, b"")
    location = header(out, "location")
    assert location.startswith("/admin/login/?next=")
    # QueryDict.urlencode(safe="/") of request.get_full_path()
    assert location == "/admin/login/?next=" + quote(django_next(path, query), safe="/")
    assert parse_qs(urlsplit(location).query)["next"] == [django_next(path, query)]
    assert unquote(django_next(path, "")) == path
    assert header(out, "vary") == "origin, Cookie"
    cacheable = rest in ("password_change/", "password_change/done/", "jsi18n/")
    assert (header(out, "cache-control") is None) is cacheable


def test_admin_special_urls():
    assert call("GET", "/admin/login/")[0] == 200
    status, out, _ = call("GET", "/admin/logout/")
    assert (status, header(out, "location")) == (302, "/admin/")
    status, out, _ = call("GET", "/admin")   # no pattern: APPEND_SLASH
    assert (status, header(out, "location")) == (301, "/admin/")
    status, out, _ = call("GET", "/admin//login/")  # the catch-all, not the login view
    assert header(out, "location") == "/admin/login/?next=/admin//login/"
    assert call("GET", "/admin/a\nb")[0] == 404
    for method in ("POST", "PUT", "DELETE"):  # csrf_protect before admin_view
        assert call(method, "/admin/anything/")[0] == 403
        assert call(method, "/admin/logout/")[0] == 403


# --------------------------------------------------------------------- request encoding


PARAM_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40)


@given(PARAM_TEXT)
def test_parse_header_is_cgi_parse_header(line):
    assert negotiation.parse_header(line) == cgi.parse_header(line)


CHARSETS = st.one_of(st.sampled_from(["utf-8", "UTF-8", "utf8", "latin-1", "ISO-8859-1",
                                      "utf-16", "cp1252", "klingon", "", "base64", "rot13",
                                      "x\x00y", "koi8-r", "shift_jis"]),
                     st.text(max_size=12))


@given(CHARSETS, st.sampled_from(["charset={}", 'charset="{}"', " CharSet = {} ",
                                  "charset=latin-1; charset={}"]))
def test_request_encoding_keeps_what_codecs_know(charset, template):
    content_type = "application/json; " + template.format(charset)
    value = cgi.parse_header(content_type)[1]["charset"]
    try:
        codecs.lookup(value)
        known = True
    except (LookupError, ValueError):
        known = False
    assert parsing.request_encoding(content_type) == (value if known else "utf-8")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8)


@given(st.dictionaries(st.text(), JSON_VALUES, max_size=4),
       st.sampled_from(["klingon", "", "x-unknown", "utf-8"]))
def test_unknown_charsets_parse_as_utf8(data, charset):
    body = json.dumps(data, ensure_ascii=False).encode()
    assert parsing.parse_body(body, f"application/json; charset={charset}") == data


@given(st.dictionaries(st.text(st.characters(max_codepoint=0xff)), st.text(
    st.characters(max_codepoint=0xff)), max_size=4))
def test_known_charsets_decode_the_bytes(data):
    text = json.dumps(data, ensure_ascii=False)
    assert parsing.parse_body(text.encode("latin-1"), "application/json; charset=latin-1") == data
    assert parsing.parse_body(text.encode("utf-16"), "Application/JSON; charset=UTF-16") == data
    with pytest.raises(parsing.ParseError, match="UTF-16 stream does not start with BOM"):
        parsing.parse_body(text.encode("utf-16-le"), "application/json; charset=utf-16")
    assert parsing.parse_body(base64.b64encode(text.encode()),
                              "application/json; charset=base64") == data


def test_stream_reader_drops_an_incomplete_tail_and_never_500s():
    assert parsing.parse_body(b'{"a":1}\xe2\x82', "application/json") == {"a": 1}
    with pytest.raises(parsing.ParseError, match="invalid start byte"):
        parsing.parse_body(b'{"a":"\xff"}', "application/json")
    with pytest.raises(parsing.ParseError, match="JSON parse error - "):
        parsing.parse_body(b"{}", "application/json; charset=rot13")  # the legacy: 500
    assert parsing.parse_body(b"a=1", "application/x-www-form-urlencoded; charset=klingon") \
        == {"a": "1"}


# --------------------------------------------------------------------- schema language


def test_schema_language_comes_from_lang_only(monkeypatch, request):
    """drf-spectacular's `?lang=`; no LocaleMiddleware in the legacy: Accept-Language is
    ignored (no `Vary: Accept-Language`, no `Content-Language`)."""
    from samsyn.domain.docs import service
    from samsyn.settings import get_settings
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/unused")
    get_settings.cache_clear()
    request.addfinalizer(get_settings.cache_clear)  # nothing after this sees the placeholder
    english = service.schema_document("en", "json")
    for accept_language in ("de", "de-DE,de;q=0.9,en;q=0.8", "fr;q=1.0, de;q=0.5"):
        status, out, body = call("GET", "/api/schema/", [("Accept-Language", accept_language)],
                                 query=b"format=json")
        assert (status, body) == (200, english)
        assert header(out, "content-language") is None
        assert "accept-language" not in (header(out, "vary") or "").lower()
    status, _, body = call("GET", "/api/schema/", [("Accept-Language", "de")],
                           query=b"format=json&lang=pt-br")
    assert json.loads(body)["components"]["schemas"]["Token"]["properties"]["key"]["title"] \
        == "Chave"
