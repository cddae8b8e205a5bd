"""Request body parsing with DRF's parsers and their exact 400/415 texts."""
from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from samsyn.api.compat.validation import FilePart, FormData

PARSES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]


class ParseError(Exception):
    """400 {"detail": "..."}: the body could not be parsed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnsupportedMediaType(Exception):
    """415: no parser for the request's Content-Type."""

    def __init__(self, media_type: str) -> None:
        super().__init__(media_type)
        self.detail = f'Unsupported media type "{media_type}" in request.'


def _strict_constant(name: str) -> Any:
    raise ValueError(f"Out of range float values are not JSON compliant: {name!r}")


def split_media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """'Application/JSON; charset=latin-1' -> ('application/json', {'charset': 'latin-1'})."""
    main, _, rest = content_type.partition(";")
    params: dict[str, str] = {}
    for item in rest.split(";"):
        key, sep, value = item.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"')
    return main.strip().lower(), params


def parse_json(body: bytes, charset: str = "utf-8") -> Any:
    """json.load over the decoded body exactly as DRF's JSONParser (strict constants)."""
    try:
        text = body.decode(charset)
    except LookupError:
        raise ParseError(f"JSON parse error - unknown encoding: {charset}") from None
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from None
    try:
        return json.loads(text, parse_constant=_strict_constant)
    except RecursionError:
        raise ParseError("JSON parse error - nesting too deep") from None
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from None


def _parse_form(body: bytes, charset: str) -> FormData:
    try:
        text = body.decode(charset)
    except (LookupError, ValueError) as exc:
        raise ParseError(f"Form parse error - {exc}") from None
    return FormData(parse_qsl(text, keep_blank_values=True))  # repeated keys: last wins


def _parse_multipart(body: bytes, content_type: str) -> FormData:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ParseError("Multipart form parse error - Invalid boundary in multipart: None")
    data = FormData()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            data[name] = FilePart(filename, payload, part.get_content_type())
        else:
            charset = part.get_content_charset() or "utf-8"
            try:
                data[name] = payload.decode(charset)
            except (LookupError, ValueError) as exc:
                raise ParseError(f"Multipart form parse error - {exc}") from None
    return data


def parse_body(body: bytes, content_type: str | None) -> Any:
    """The request data as DRF's `request.data` would see it.

    An empty body parses to {} (whatever the type); a body without a Content-Type is a 415.
    """
    if not body:
        return FormData() if content_type and split_media_type(content_type)[0] in PARSES[1:] else {}
    media_type, params = split_media_type(content_type or "")
    charset = params.get("charset", "utf-8")
    if media_type == "application/json":
        return parse_json(body, charset)
    if media_type == "application/x-www-form-urlencoded":
        return _parse_form(body, charset)
    if media_type == "multipart/form-data":
        return _parse_multipart(body, content_type or "")
    raise UnsupportedMediaType(content_type or "")
