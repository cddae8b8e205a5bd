"""DRF DefaultContentNegotiation over its two renderers (JSON, then the browsable API).

Mirrors DRF 3.14 `rest_framework.negotiation.DefaultContentNegotiation.select_renderer` and
`rest_framework.utils.mediatypes._MediaType.precedence`; `parse_header` is Python's
`cgi.parse_header`, which Django 4.1 uses for Content-Type (HttpRequest) and DRF's _MediaType.
"""
from __future__ import annotations

from dataclasses import dataclass

JSON = "application/json"
HTML = "text/html"
RENDERS = [JSON, HTML]
FORMATS = {"json": JSON, "api": HTML}


class NotAcceptable(Exception):
    """406 {"detail": "Could not satisfy the request Accept header."}."""


class UnknownFormat(Exception):
    """?format=<unknown> -> 404 {"detail": "Not found."}."""


@dataclass(frozen=True, slots=True)
class Negotiated:
    renderer: str          # JSON or HTML
    indent: int | None     # from `application/json; indent=N`


_PLAIN_JSON = Negotiated(JSON, None)
_JSON_ACCEPTS = frozenset({"*/*", "application/json", "application/json, text/plain, */*"})


def _header_params(text: str) -> list[str]:
    """cgi._parseparam: split on `;` outside double quotes."""
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


def parse_header(line: str) -> tuple[str, dict[str, str]]:
    """cgi.parse_header: the main value as sent (stripped), parameter names lower-cased,
    `"quoted"` values unquoted (backslash escapes undone), a repeated parameter: the last."""
    parts = _header_params(";" + line)
    params: dict[str, str] = {}
    for part in parts[1:]:
        name, sep, value = part.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace("\\\\", "\\").replace('\\"', '"')
        params[name.strip().lower()] = value
    return parts[0], params


def _media_types(accept: str) -> list[tuple[str, str, dict[str, str]]]:
    result = []
    for item in accept.split(","):
        item = item.strip()
        if not item:
            continue
        full, _, rest = item.partition(";")
        main, _, sub = full.strip().partition("/")
        params = {}
        for p in rest.split(";"):
            k, sep, v = p.partition("=")
            if sep:
                params[k.strip()] = v.strip()
        result.append((main.strip(), sub.strip(), params))
    return result


def precedence(main: str, sub: str, params: dict[str, str]) -> int:
    """DRF's _MediaType.precedence: */* 0, type/* 1, type/sub (q only) 2, with params 3."""
    if main == "*":
        return 0
    if sub == "*":
        return 1
    if not params or list(params) == ["q"]:
        return 2
    return 3


def _matches(renderer: str, main: str, sub: str) -> bool:
    r_main, r_sub = renderer.split("/")
    return (main in ("*", r_main)) and (sub in ("*", r_sub))


def negotiate(accept: str | None, fmt: str | None) -> Negotiated:
    """Pick the renderer as DRF does: precedence groups first, renderer order second; q ignored."""
    if fmt is None and (accept is None or accept in _JSON_ACCEPTS):
        return _PLAIN_JSON  # what API clients send: skip the parse
    renderers = RENDERS
    if fmt is not None:
        if fmt not in FORMATS:
            raise UnknownFormat
        renderers = [FORMATS[fmt]]
    accepts = _media_types(accept or "*/*") or [("*", "*", {})]
    for level in (3, 2, 1, 0):
        group = [m for m in accepts if precedence(*m) == level]
        for renderer in renderers:
            for main, sub, params in group:
                if _matches(renderer, main, sub):
                    indent = None
                    if renderer == JSON and "indent" in params:
                        try:
                            indent = max(0, min(int(params["indent"]), 8))
                        except ValueError:
                            indent = None
                    return Negotiated(renderer, indent)
    raise NotAcceptable
