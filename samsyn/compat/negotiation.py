"""DRF DefaultContentNegotiation over a renderer table (the API views: JSON, then the
browsable API; the schema views: drf-spectacular's four; the docs pages: one HTML renderer).

Mirrors DRF 3.14 `rest_framework.negotiation.DefaultContentNegotiation.select_renderer` and
`filter_renderers`, `rest_framework.utils.mediatypes._MediaType` (`precedence`, `match`) over
Django 4.1's `django.http.multipartparser.parse_header` (what DRF 3.14's
`parse_header_parameters` calls there), and `JSONRenderer.get_indent`. `parse_header` is
Python's `cgi.parse_header`, as Django 4.1.13's `django.utils.http.parse_header_parameters`
copies it for a request's Content-Type (`HttpRequest._set_content_type_params`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Renderer:
    media_type: str
    format: str
    charset: str | None = None

    @property
    def content_type(self) -> str:
        """DRF Response: the renderer's media type (+ charset), not the accepted media type."""
        return f"{self.media_type}; charset={self.charset}" if self.charset else self.media_type


JSON_RENDERER = Renderer("application/json", "json")          # rest_framework JSONRenderer
BROWSABLE_API = Renderer("text/html", "api", "utf-8")         # BrowsableAPIRenderer
API_RENDERERS = (JSON_RENDERER, BROWSABLE_API)               # DEFAULT_RENDERER_CLASSES


class NotAcceptable(Exception):
    """406 {"detail": "Could not satisfy the request Accept header."}."""


class UnknownFormat(Exception):
    """?format=<no renderer has it> -> Http404."""


@dataclass(frozen=True, slots=True)
class Negotiated:
    renderer: Renderer
    accepted: str          # the accepted media type string (its params reach the renderer)

    def indent(self, default: int | None = None) -> int | None:
        """JSONRenderer.get_indent: `indent=N` of the accepted type clamped to 0..8, 0 as
        none; else `default` (None: compact; drf-spectacular's JSON renderer uses 4)."""
        if ";" not in self.accepted:    # no parameters (every plain JSON answer): no parse
            return default
        try:
            value = max(min(int(parse_media_type(self.accepted)[2]["indent"]), 8), 0)
        except (KeyError, ValueError, TypeError):
            return default
        return value or default


_PLAIN_JSON = Negotiated(JSON_RENDERER, JSON_RENDERER.media_type)
_JSON_ACCEPTS = frozenset({"*/*", "application/json", "application/json, text/plain, */*"})


def _header_params(text: str) -> list[str]:
    """cgi._parseparam / django.http.multipartparser._parse_header_params: split on `;`
    outside double quotes."""
    out = []
    while text[:1] == ";":
        text = text[1:]
        end = text.find(";")
        while end > 0 and (text.count('"', 0, end) - text.count('\\"', 0, end)) % 2:
            end = text.find(";", end + 1)
        if end < 0:
            end = len(text)
        out.append(text[:end].strip())
        text = text[end:]
    return out


def _parameters(parts: list[str], *, rfc2231: bool) -> dict[str, str]:
    """The `name=value` parts after the main value, as cgi.parse_header and Django 4.1's
    parse_header both read them: names lower-cased, `"quoted"` values unquoted (backslash
    escapes undone), a repeated name: the last; Django also decodes `name*=charset'lang'value`
    (RFC 2231)."""
    params: dict[str, str] = {}
    for part in parts:
        name, sep, value = part.partition("=")
        if not sep:
            continue
        name = name.strip().lower()
        encoded = False
        if rfc2231 and name.endswith("*"):
            name = name[:-1]
            encoded = part.count("'") == 2
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        if encoded:
            charset, _, rest = value.partition("'")
            value = _unquote(rest.partition("'")[2], charset)
        params[name] = value
    return params


def parse_header(line: str) -> tuple[str, dict[str, str]]:
    """cgi.parse_header: the main value as sent (stripped) and its parameters."""
    parts = _header_params(";" + line)
    return parts[0], _parameters(parts[1:], rfc2231=False)


def parse_media_type(text: str) -> tuple[str, str, dict[str, str]]:
    """_MediaType(text): Django 4.1's parse_header (the type lower-cased too), then the type
    split at `/`; (main type, subtype, params)."""
    parts = _header_params(";" + text)
    main, _, sub = (parts[0].lower() if parts else "").partition("/")
    return main, sub, _parameters(parts[1:], rfc2231=True)


def _unquote(value: str, charset: str) -> str:
    from urllib.parse import unquote
    try:
        return unquote(value, encoding=charset or "utf-8")
    except LookupError:     # Django: LookupError, a 500; here the parameter is just unusable
        return value


def precedence(main: str, sub: str, params: dict[str, str]) -> int:
    """_MediaType.precedence: */* 0, type/* 1, type/sub (q only) 2, with params 3."""
    if main == "*":
        return 0
    if sub == "*":
        return 1
    if not params or list(params) == ["q"]:
        return 2
    return 3


def _matches(renderer: Renderer, main: str, sub: str) -> bool:
    """_MediaType(renderer.media_type).match(accepted): the renderer has no parameters."""
    r_main, _, r_sub = renderer.media_type.partition("/")
    if sub != "*" and sub != r_sub:
        return False
    return main == "*" or main == r_main


def negotiate(renderers: tuple[Renderer, ...], accept: str | None,
              fmt: str | None) -> Negotiated:
    """select_renderer: `?format=` filters the renderers (none left: UnknownFormat; an empty
    one is no format), then the Accept entries by precedence group (most specific first),
    renderer order inside a group; q-values play no part.

    Raises:
        UnknownFormat: `fmt` names no renderer's format.
        NotAcceptable: nothing in Accept matches a remaining renderer.
    """
    if fmt:
        renderers = tuple(r for r in renderers if r.format == fmt)
        if not renderers:
            raise UnknownFormat
    tokens = [token.strip() for token in (accept if accept is not None else "*/*").split(",")]
    parsed = [(token, *parse_media_type(token)) for token in tokens]
    for level in (3, 2, 1, 0):
        group = [p for p in parsed if precedence(p[1], p[2], p[3]) == level]
        if not group:
            continue
        for renderer in renderers:
            for token, main, sub, params in group:
                if _matches(renderer, main, sub):
                    if level < 2:  # `*/*; indent=2`: the renderer's type with the params
                        accepted = ";".join([renderer.media_type]
                                            + [f"{k}={v}" for k, v in params.items()])
                        return Negotiated(renderer, accepted)
                    return Negotiated(renderer, token)
    raise NotAcceptable


def negotiate_api(accept: str | None, fmt: str | None) -> Negotiated:
    """negotiate() over the API views' renderers; what API clients send skips the parse."""
    if not fmt and (accept is None or accept in _JSON_ACCEPTS):
        return _PLAIN_JSON
    return negotiate(API_RENDERERS, accept, fmt)


def force_renderer(renderers: tuple[Renderer, ...], accept: str | None,
                   fmt: str | None) -> Negotiated:
    """perform_content_negotiation(force=True): the first renderer when negotiation fails."""
    try:
        return negotiate(renderers, accept, fmt)
    except (NotAcceptable, UnknownFormat):
        return Negotiated(renderers[0], renderers[0].media_type)
