"""Request body parsing with DRF's parsers and their exact 400/415 texts.

Mirrors DRF 3.14 `rest_framework.request.Request._parse` (parser selection by
`DefaultContentNegotiation.select_parser` / `media_type_matches` over `parse_header_parameters`,
the empty-body shortcut) and `JSONParser.parse` / `FormParser.parse` / `MultiPartParser.parse`;
under them Django 4.1's `QueryDict.__init__` and `django.http.multipartparser.MultiPartParser`
(`parse`, `parse_boundary_stream`, `parse_header`, `BoundaryIter`, `sanitize_file_name`), with
the encoding `HttpRequest._set_content_type_params` gives them (request_encoding).
"""
from __future__ import annotations

import base64
import binascii
import codecs
import html
import io
import json
import posixpath
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

from samsyn.compat.validation import MAX_JSON_DEPTH, FilePart, FormData, too_deep

# DEFAULT_PARSER_CLASSES, in DRF's order: JSONParser, FormParser, MultiPartParser.
PARSES = ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"]
# Django's TooManyFieldsSent / TooManyFilesSent / RequestDataTooBig texts
# (DATA_UPLOAD_MAX_NUMBER_FIELDS / _FILES / DATA_UPLOAD_MAX_MEMORY_SIZE).
TOO_MANY_FIELDS = ("The number of GET/POST parameters exceeded "
                   "settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.")
TOO_MANY_FILES = "The number of files exceeded settings.DATA_UPLOAD_MAX_NUMBER_FILES."
TOO_BIG = "Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE."
NESTING_TOO_DEEP = "JSON parse error - nesting too deep"
MAX_FIELDS = 1000  # Django's defaults; the server passes its Settings
MAX_FILES = 100
MAX_MEMORY = 2_621_440  # DATA_UPLOAD_MAX_MEMORY_SIZE: multipart field bytes (+ names, + 2 each)


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


# ------------------------------------------------------------------ header parameters (bytes)


def _header_params(text: bytes) -> list[bytes]:
    """django.http.multipartparser._parse_header_params: split on `;` outside double quotes;
    each item stripped of ASCII white space."""
    out = []
    while text[:1] == b";":
        text = text[1:]
        end = text.find(b";")
        while end > 0 and (text.count(b'"', 0, end) - text.count(b'\\"', 0, end)) % 2:
            end = text.find(b";", end + 1)
        if end < 0:
            end = len(text)
        out.append(text[:end].strip())
        text = text[end:]
    return out


def _parse_header(line: bytes) -> tuple[str, dict[str, bytes | str]]:
    """django.http.multipartparser.parse_header: the main value lower-cased (ASCII, else
    UnicodeDecodeError), parameter names lower-cased (ASCII), values as bytes: `"quoted"` ones
    unquoted (backslash escapes undone), `name*=charset'lang'%xx` (RFC 2231, when the parameter
    holds exactly two `'`) decoded to str; a repeated name: the last. Raises what Django raised:
    ValueError (non-ASCII names, a malformed RFC 2231 value) or LookupError (its charset)."""
    parts = _header_params(b";" + line)
    key = parts.pop(0).lower().decode("ascii")
    params: dict[str, bytes | str] = {}
    for part in parts:
        i = part.find(b"=")
        if i < 0:
            continue
        name = part[:i].strip().lower().decode("ascii")
        encoded = False
        if name.endswith("*"):
            name = name[:-1]
            encoded = part.count(b"'") == 2
        value: bytes | str = part[i + 1:].strip()
        if len(value) >= 2 and value[:1] == value[-1:] == b'"':
            value = value[1:-1].replace(b"\\\\", b"\\").replace(b'\\"', b'"')
        if encoded:
            charset, _lang, text = value.split(b"'")  # type: ignore[union-attr]
            value = unquote(text.decode(), encoding=charset.decode())
        params[name] = value
    return key, params


def _drf_media_type(content_type: str) -> str | None:
    """The full type DRF matches its parsers with (`_MediaType` over 3.14's
    `parse_header_parameters` on Django 4.1: `parse_header(line.encode())`): lower-cased (ASCII
    only), not stripped inside. None where DRF raised instead (a non-ASCII type or parameter
    name, a malformed RFC 2231 parameter: the legacy's 500)."""
    try:
        return _parse_header(content_type.encode())[0]
    except (ValueError, LookupError):  # UnicodeEncodeError/UnicodeDecodeError are ValueErrors
        return None


def _select_parser(full_type: str) -> str | None:
    """DefaultContentNegotiation.select_parser: the first parser whose media type matches
    (`_MediaType.match`: a `*` on the request's side matches any type or subtype)."""
    main, _, sub = full_type.partition("/")
    for parser in PARSES:
        p_main, _, p_sub = parser.partition("/")
        if sub in ("*", p_sub) and main in ("*", p_main):
            return parser
    return None


def request_encoding(content_type: str | None) -> str:
    """The encoding DRF's parsers get: HttpRequest.encoding (Django 4.1
    `_set_content_type_params`: the `charset` parameter of cgi.parse_header(CONTENT_TYPE), kept
    only when codecs.lookup() knows it) or settings.DEFAULT_CHARSET. Unknown, empty or
    malformed charsets are ignored; quoted values are unquoted; a repeated parameter: the last."""
    from samsyn.compat.negotiation import parse_header as cgi_parse_header
    charset = cgi_parse_header(content_type or "")[1].get("charset")
    if charset is None:
        return "utf-8"
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):  # ValueError: an embedded NUL (the legacy: 500)
        return "utf-8"
    return charset


# ------------------------------------------------------------------ JSON


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


# ------------------------------------------------------------------ urlencoded forms


def parse_query(text: str, max_fields: int | None = MAX_FIELDS,
                **kwargs: Any) -> list[tuple[str, str]]:
    """parse_qsl as Django's QueryDict calls it: more than `max_fields` fields (counted as
    1 + the number of '&', before any parsing work) is Django's TooManyFieldsSent, and so is
    any other ValueError parse_qsl raises (QueryDict assumes every one is the count)."""
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields, **kwargs)
    except ValueError:
        raise ParseError(TOO_MANY_FIELDS) from None


def query_dict(raw: bytes, charset: str, max_fields: int | None) -> list[tuple[str, str]]:
    """Django's QueryDict(raw, encoding=charset), for request.GET and DRF's FormParser alike:
    the bytes decoded with the charset, as ISO-8859-1 when that fails (UnicodeDecodeError
    only), then %-escapes decoded with the charset too (errors replaced)."""
    try:
        text = raw.decode(charset)
    except UnicodeDecodeError:
        text = raw.decode("iso-8859-1")
    return parse_query(text, max_fields, encoding=charset)


def _parse_form(body: bytes, charset: str, max_fields: int | None) -> FormData:
    """DRF FormParser: QueryDict(body, encoding=charset); repeated keys: the last value."""
    try:
        return FormData(query_dict(body, charset, max_fields))
    except (LookupError, UnicodeError) as exc:  # a non-text codec...: the legacy answered 500
        raise ParseError(f"Form parse error - {exc}") from None


# ------------------------------------------------------------------ multipart


_BOUNDARY = re.compile(rb"[ -~]{0,200}[!-~]")  # MultiPartParser.boundary_re
_CHUNK = 64 * 2**10   # the upload handlers' chunk_size: Django reads the body in these
_HEADER_SIZE = 1024   # parse_boundary_stream: the part's headers must end within these
_RAW, _FIELD, _FILE = "raw", "field", "file"


def _multipart_error(text: str) -> ParseError:
    return ParseError(f"Multipart form parse error - {text}")


class _Exhausted(Exception):
    """InputStreamExhausted: no part left."""


class _Stream:
    """Django's LazyStream(ChunkIter(body, 64 KiB)) as offsets: what was read and put back
    (the leftover) is data[pos:read_end]; the next chunk read is data[read_end:][:64 KiB]."""

    __slots__ = ("data", "pos", "read_end")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = self.read_end = 0

    def next(self) -> tuple[int, int] | None:
        """LazyStream.__next__: the whole leftover, else the next chunk."""
        if self.pos < self.read_end:
            start = self.pos
        elif self.read_end < len(self.data):
            start = self.read_end
            self.read_end = min(start + _CHUNK, len(self.data))
        else:
            return None
        self.pos = self.read_end
        return start, self.read_end


class _Part:
    r"""One part as Django reads it: LazyStream(BoundaryIter(stream, b"--" + boundary)). The
    BoundaryIter yields the bytes up to the next separator (wherever it is, not only at a line
    start), less one "\n" and then one "\r" before it, in pieces that keep len(separator) + 6
    bytes back until the separator shows; the leftover is data[pos:end]. A part Django leaves
    unread (skipped) leaves the stream where its pieces stopped."""

    __slots__ = ("stream", "sep", "rollback", "done", "pos", "end")

    def __init__(self, stream: _Stream, sep: bytes) -> None:
        if stream.pos >= len(stream.data):
            raise _Exhausted
        self.stream = stream
        self.sep = sep
        self.rollback = len(sep) + 6
        self.done = False
        self.pos = self.end = 0

    def _produce(self) -> tuple[int, int] | None:
        """BoundaryIter.__next__."""
        if self.done:
            return None
        stream = self.stream
        start = end = -1
        got = 0
        while True:
            piece = stream.next()
            if piece is None:
                self.done = True
                break
            if start < 0:
                start = piece[0]
            end = piece[1]
            got += end - piece[0]
            if got > self.rollback:
                break
        if start < 0:
            return None
        data = stream.data
        index = data.find(self.sep, start, end)
        if index >= 0:
            stop = index
            if stop > start and data[stop - 1] == 0x0A:
                stop -= 1
            if stop > start and data[stop - 1] == 0x0D:
                stop -= 1
            stream.pos = index + len(self.sep)
            self.done = True
            return start, stop
        if end - start <= self.rollback:
            self.done = True
            return start, end
        stream.pos = end - self.rollback
        return start, end - self.rollback

    def next(self) -> tuple[int, int] | None:
        """LazyStream.__next__: the leftover, else the next piece (possibly empty)."""
        if self.pos < self.end:
            start = self.pos
        else:
            piece = self._produce()
            if piece is None:
                return None
            start, self.end = piece
        self.pos = self.end
        return start, self.end

    def read(self, size: int | None = None) -> bytes:
        """LazyStream.read: `size` bytes (all without one), the excess put back."""
        data = self.stream.data
        out = []
        remaining = size
        while remaining is None or remaining > 0:
            piece = self.next()
            if piece is None:
                break
            start, end = piece
            if remaining is not None:
                end = min(end, start + remaining)
                remaining -= end - start
                self.pos = end
            out.append(data[start:end])
        return b"".join(out)

    def headers(self) -> tuple[str, dict[str, tuple[str, dict[str, bytes | str]]]]:
        """parse_boundary_stream: the header lines (split at CRLF) before the first CRLFCRLF
        of the part's first 1024 bytes, each read by parse_header as `name: value`; lines it
        cannot read (non-ASCII names, no `:`) are dropped. A part with a Content-Disposition is
        a field, a file when that (last) header has a non-empty `filename`; else raw."""
        chunk = self.read(_HEADER_SIZE)
        header_end = chunk.find(b"\r\n\r\n")
        if header_end < 0:
            return _RAW, {}
        self.pos -= len(chunk) - header_end - 4   # the rest is put back: the payload
        kind = _RAW
        headers: dict[str, tuple[str, dict[str, bytes | str]]] = {}
        for line in chunk[:header_end].split(b"\r\n"):
            try:
                key, params = _parse_header(line)
                name, value = key.split(":", 1)
            except ValueError:
                continue
            except LookupError as exc:   # an RFC 2231 parameter's charset: the legacy's 500
                raise _multipart_error(str(exc)) from None
            if name == "content-disposition":
                kind = _FILE if params.get("filename") else _FIELD
            headers[name] = (value, params)
        return kind, headers


def _text(value: bytes | str, encoding: str) -> str:
    """force_str(value, encoding, errors="replace")."""
    if isinstance(value, str):
        return value
    try:
        return str(value, encoding, "replace")
    except (LookupError, ValueError) as exc:  # a non-text codec, no "replace": the legacy: 500
        raise _multipart_error(str(exc)) from None


def _file_name(name: str) -> str | None:
    r"""MultiPartParser.sanitize_file_name, then UploadedFile's name: HTML entities undone, the
    last `/` or `\` segment, printable characters only; "", "." and ".." are no name (the
    part is skipped); longer than 255 characters: cut, keeping the extension."""
    name = html.unescape(name).rsplit("/")[-1].rsplit("\\")[-1]
    name = "".join(char for char in name if char.isprintable())
    if name in {"", ".", ".."}:
        return None
    if len(name) > 255:
        root, ext = posixpath.splitext(name)
        ext = ext[:255]
        name = root[:255 - len(ext)] + ext
    return name


def _file_content(part: _Part, b64: bool) -> bytes:
    """The bytes the upload handler receives: each chunk as read, base64 ones decoded a
    multiple of four characters (white space dropped) at a time."""
    data = part.stream.data
    out = []
    while (piece := part.next()) is not None:
        chunk = data[piece[0]:piece[1]]
        if b64:
            chunk = b"".join(chunk.split())
            while len(chunk) % 4:
                more = part.read(4 - len(chunk) % 4)
                if not more:
                    break
                chunk += b"".join(more.split())
            try:
                chunk = base64.b64decode(chunk)
            except Exception:  # noqa: BLE001 - Django: any error
                raise _multipart_error("Could not decode base64 data.") from None
        out.append(chunk)
    return b"".join(out)


def _parse_multipart(body: bytes, content_type: str, encoding: str = "utf-8",
                     max_fields: int | None = MAX_FIELDS, max_files: int | None = MAX_FILES,
                     max_memory: int | None = MAX_MEMORY) -> FormData:
    """Django's MultiPartParser(META with CONTENT_TYPE as sent, ..., encoding).parse(), and
    DRF's data = POST + FILES (a file wins over a field of the same name)."""
    if not content_type.startswith("multipart/"):
        raise _multipart_error(f"Invalid Content-Type: {content_type}")
    try:
        raw_type = content_type.encode("ascii")
    except UnicodeEncodeError:
        raise _multipart_error(
            f"Invalid non-ASCII Content-Type in multipart: {content_type}") from None
    boundary = _parse_header(raw_type)[1].get("boundary")   # DRF's selection read it already
    if not boundary or isinstance(boundary, str) or not _BOUNDARY.fullmatch(boundary):
        # a str: an RFC 2231 `boundary*=`, which the legacy's regex refused with a 500
        shown = "None" if boundary is None else _text(boundary, "utf-8")
        raise _multipart_error(f"Invalid boundary in multipart: {shown}")
    stream = _Stream(body)
    sep = b"--" + boundary
    post: dict[str, str] = {}
    files: dict[str, FilePart] = {}
    fields = file_count = read_bytes = 0
    pending: tuple[str, FilePart] | None = None
    while True:
        try:
            part = _Part(stream, sep)
        except _Exhausted:
            break
        kind, headers = part.headers()
        if pending is not None:   # a file is complete once the next part starts
            files[pending[0]] = pending[1]
            pending = None
        if kind != _FILE and max_fields is not None:
            fields += 1   # raw parts too: Django's + 2 is for the two around the boundaries
            if max_fields + 2 < fields:
                raise ParseError(TOO_MANY_FIELDS)
        try:
            disposition = headers["content-disposition"][1]
            name: bytes | str = disposition["name"].strip()
        except KeyError:
            continue   # unread: a longer part leaves the stream mid-part, as Django's did
        transfer = headers.get("content-transfer-encoding")
        b64 = transfer is not None and transfer[0].strip() == "base64"
        field_name = _text(name, encoding)
        if kind == _FIELD:
            raw = part.read(None if max_memory is None else max_memory - read_bytes)
            read_bytes += len(raw)
            value = raw
            if b64:
                try:
                    value = base64.b64decode(raw)
                except binascii.Error:
                    pass
            read_bytes += len(field_name) + 2
            if max_memory is not None and read_bytes > max_memory:
                raise ParseError(TOO_BIG)
            post[field_name] = _text(value, encoding)
            continue
        file_count += 1
        if max_files is not None and file_count > max_files:
            raise ParseError(TOO_MANY_FILES)
        file_name = _file_name(_text(disposition["filename"], encoding))
        if file_name is None:
            continue
        part_type = headers.get("content-type", ("", {}))[0].strip()
        upload = FilePart(file_name, _file_content(part, b64), part_type)
        # Django completes a file at the next part, if its field name is not empty.
        pending = (field_name, upload) if field_name else None
    # A file still pending here had no part after it: Django's upload_interrupted() drops it.
    data = FormData(post)
    data.update(files)
    return data


# ------------------------------------------------------------------ request.data


def parse_body(body: bytes, content_type: str | None, *, max_fields: int | None = MAX_FIELDS,
               max_files: int | None = MAX_FILES, max_memory: int | None = MAX_MEMORY) -> Any:
    """The request data as DRF's `request.data` would see it.

    An empty body parses to {} (an empty form for the two form types); a body no parser
    matches (no Content-Type: "") is a 415. Form and multipart bodies over Django's field/file
    counts are a ParseError (400) with Django's texts; JSON needs no count (the C parser is
    linear and its nesting is bounded).
    """
    content_type = content_type or ""
    full_type = _drf_media_type(content_type)
    if not body:
        return FormData() if full_type in PARSES[1:] else {}
    parser = None if full_type is None else _select_parser(full_type)
    if parser is None:
        raise UnsupportedMediaType(content_type)
    charset = request_encoding(content_type)
    if parser == PARSES[0]:
        return parse_json(body, charset)
    if parser == PARSES[1]:
        return _parse_form(body, charset, max_fields)
    return _parse_multipart(body, content_type, charset, max_fields, max_files, max_memory)
