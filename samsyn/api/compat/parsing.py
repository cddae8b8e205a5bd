"""Request body parsing with DRF's parsers and their exact 400/415 texts.

Mirrors DRF 3.14 `rest_framework.parsers.JSONParser.parse` / `FormParser.parse` /
`MultiPartParser.parse` (through Django's `MultiPartParser`), with the encoding Django 4.1's
`HttpRequest._set_content_type_params` gives them (request_encoding).
"""
from __future__ import annotations

import codecs
import io
import json
import re
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import collapse_rfc2231_value
from typing import Any
from urllib.parse import parse_qsl

from samsyn.api.compat.validation import MAX_JSON_DEPTH, FilePart, FormData, too_deep

PARSES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]
# Django's TooManyFieldsSent / TooManyFilesSent texts (DATA_UPLOAD_MAX_NUMBER_FIELDS/_FILES).
TOO_MANY_FIELDS = ("The number of GET/POST parameters exceeded "
                   "settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.")
TOO_MANY_FILES = "The number of files exceeded settings.DATA_UPLOAD_MAX_NUMBER_FILES."
NESTING_TOO_DEEP = "JSON parse error - nesting too deep"
MAX_FIELDS = 1000  # Django's defaults; the server passes its Settings
MAX_FILES = 100


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


def request_encoding(content_type: str | None) -> str:
    """The encoding DRF's parsers get: HttpRequest.encoding (Django 4.1
    `_set_content_type_params`: the `charset` parameter of cgi.parse_header(CONTENT_TYPE), kept
    only when codecs.lookup() knows it) or settings.DEFAULT_CHARSET. Unknown, empty or
    malformed charsets are ignored; quoted values are unquoted; a repeated parameter: the last."""
    from samsyn.api.compat.negotiation import parse_header
    charset = parse_header(content_type or "")[1].get("charset")
    if charset is None:
        return "utf-8"
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):  # ValueError: an embedded NUL
        return "utf-8"
    return charset


def _decode_json(body: bytes, encoding: str) -> str:
    """DRF JSONParser: json.load(codecs.getreader(encoding)(stream)). The stream reader decodes
    with final=False, so an incomplete multi-byte sequence at the very end is dropped, and
    UTF-16/32 readers insist on a BOM; a bytes-to-bytes codec (base64...) hands json the bytes,
    which it decodes by their own detected UTF encoding."""
    if codecs.lookup(encoding).name == "utf-8":   # the common case, without the reader
        try:
            return codecs.utf_8_decode(body, "strict", False)[0]
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
    try:
        text = codecs.getreader(encoding)(io.BytesIO(body)).read()
        if isinstance(text, bytes):
            text = text.decode(json.detect_encoding(text), "surrogatepass")
    except Exception as exc:  # noqa: BLE001 - the legacy answered 500 for the non-ValueErrors
        raise ParseError(f"JSON parse error - {exc}") from None
    return str(text)


def parse_json(body: bytes, charset: str = "utf-8") -> Any:
    """json.load over the decoded body exactly as DRF's JSONParser (strict constants);
    `charset` is the request's encoding (request_encoding)."""
    text = _decode_json(body, charset)
    try:
        value = json.loads(text, parse_constant=_strict_constant)
    except RecursionError:
        raise ParseError(NESTING_TOO_DEEP) from None
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from None
    # Only a body with that many brackets can nest that deep: the walk runs for those alone.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and too_deep(value):
        raise ParseError(NESTING_TOO_DEEP)
    return value


def parse_query(text: str, max_fields: int | None = MAX_FIELDS,
                **kwargs: Any) -> list[tuple[str, str]]:
    """parse_qsl as Django's QueryDict calls it: more than `max_fields` fields (counted as
    1 + the number of '&', before any parsing work) is Django's TooManyFieldsSent."""
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields, **kwargs)
    except ValueError:  # the only ValueError parse_qsl raises without strict_parsing
        raise ParseError(TOO_MANY_FIELDS) from None


def _parse_form(body: bytes, charset: str, max_fields: int | None) -> FormData:
    try:
        text = body.decode(charset)
    except (LookupError, ValueError) as exc:
        raise ParseError(f"Form parse error - {exc}") from None
    return FormData(parse_query(text, max_fields))  # repeated keys: last wins


_FILENAME = re.compile(rb'[;\s]filename\*?\s*=\s*(?:"[^"]|[^\s;"])', re.IGNORECASE)


def _check_part_counts(body: bytes, boundary: str, max_fields: int | None,
                       max_files: int | None) -> None:
    """Django's MultiPartParser limits, checked on the raw bytes before the (slow, per part)
    e-mail parser runs: every part without a filename counts as a field, including the
    segments before the first and after the last boundary (Django's "+ 2"); parts with a
    filename count as files. The first limit crossed in body order is the error, as Django
    raises while it streams."""
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    fields = files = 0
    start = 0
    while True:
        end = body.find(delimiter, start)
        segment_end = len(body) if end < 0 else end
        header_end = body.find(b"\r\n\r\n", start, segment_end)
        headers = body[start:header_end] if header_end >= 0 else b""
        if _FILENAME.search(headers):
            files += 1
            if max_files is not None and files > max_files:
                raise ParseError(TOO_MANY_FILES)
        else:
            fields += 1
            if max_fields is not None and fields > max_fields + 2:
                raise ParseError(TOO_MANY_FIELDS)
        if end < 0:
            return
        start = end + len(delimiter)


class _Compat32Utf8(Compat32):
    """compat32 that reads raw non-ASCII header bytes as UTF-8 (with replacement), as Django's
    multipart parser did, instead of turning them into U+FFFD per byte."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value.encode("ascii", "surrogateescape").decode("utf-8", "replace")


_MULTIPART_POLICY = _Compat32Utf8(linesep="\r\n")


def _header_text(value: Any) -> str | None:
    """A header parameter as text (RFC 2231 `name*=` values collapsed)."""
    if isinstance(value, tuple):
        return collapse_rfc2231_value(value)
    return value


def _parse_multipart(body: bytes, content_type: str, max_fields: int | None = MAX_FIELDS,
                     max_files: int | None = MAX_FILES) -> FormData:
    boundary = split_media_type(content_type)[1].get("boundary")
    if boundary:
        _check_part_counts(body, boundary, max_fields, max_files)
    # compat32, not policy.HTTP: the same parts for a tenth of the time (the structured header
    # classes cost ~0.3 ms a part).
    message = BytesParser(policy=_MULTIPART_POLICY).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ParseError("Multipart form parse error - Invalid boundary in multipart: None")
    data = FormData()
    for part in message.get_payload():
        name = _header_text(part.get_param("name", header="content-disposition"))
        if name is None:
            continue
        filename = _header_text(part.get_filename())
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


def parse_body(body: bytes, content_type: str | None, *, max_fields: int | None = MAX_FIELDS,
               max_files: int | None = MAX_FILES) -> Any:
    """The request data as DRF's `request.data` would see it.

    An empty body parses to {} (whatever the type); a body without a Content-Type is a 415.
    Form and multipart bodies over Django's field/file counts are a ParseError (400) before
    they are parsed; JSON needs no count (the C parser is linear and its nesting is bounded).
    """
    if not body:
        return FormData() if content_type and split_media_type(content_type)[0] in PARSES[1:] else {}
    media_type, params = split_media_type(content_type or "")
    charset = request_encoding(content_type)
    if media_type == "application/json":
        return parse_json(body, charset)
    if media_type == "application/x-www-form-urlencoded":
        return _parse_form(body, charset, max_fields)
    if media_type == "multipart/form-data":
        return _parse_multipart(body, content_type or "", max_fields, max_files)
    raise UnsupportedMediaType(content_type or "")
