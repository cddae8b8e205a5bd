"""samsyn.compat.parsing against DRF 3.14's parsers on Django 4.1 (the legacy's versions,
test-only dependencies): for generated request bodies and Content-Type headers around the
recorded ones, `parse_body` gives what `rest_framework.request.Request(WSGIRequest).data` gives
with the legacy's DEFAULT_PARSER_CLASSES (JSONParser, FormParser, MultiPartParser), or the same
error status and text.

Generated: the parser selection (`select_parser`: casings, `*` types, parameters, quoting,
RFC 2231 parameters, non-ASCII), the request encoding (`charset`, known or not, quoted, repeated),
JSON in other encodings and broken (BOMs, truncated multi-byte sequences, strict constants),
urlencoded forms (repeated keys, empty values, `+` and %-escapes, invalid UTF-8, `;`), multipart
bodies (quoted / unquoted / RFC 2231 field names and filenames, HTML entities and paths in
filenames, empty filenames, missing or odd boundaries, parts without Content-Disposition, header
casing, base64 transfer encoding, separators inside values, missing closing delimiters, parts
across Django's 64 KiB read chunks), and Django's DATA_UPLOAD_MAX_NUMBER_FIELDS / _FILES /
DATA_UPLOAD_MAX_MEMORY_SIZE limits.

Two kinds of answers differ on purpose:
- where the legacy raised something other than DRF's ParseError / UnsupportedMediaType /
  Django's TooMany*Sent / RequestDataTooBig (a 500: a non-ASCII media type, a charset with a
  NUL, a non-text codec such as rot13 for a form, an unknown RFC 2231 charset, JSON nested past
  the recursion limit), samsyn answers a 400 or 415 instead (category (a) of contract/DRIFT.md:
  the legacy crashed; the module's comments say where);
- JSON nested deeper than 512 levels: DRIFT.md, "Note — request parsing limits".
Django's TooMany*Sent texts come in a DRF error body in samsyn (the same Note): compared as
(400, text).
"""
from __future__ import annotations

import base64
import io
import json
import os
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from samsyn.compat import parsing
from samsyn.compat.validation import FilePart, FormData, too_deep
from tests.unit import django_oracle

django_oracle.configure()

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent  # noqa: E402
from django.core.handlers.wsgi import WSGIRequest  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import override_settings  # noqa: E402
from rest_framework import exceptions, parsers  # noqa: E402
from rest_framework.request import Request  # noqa: E402

# More for a deeper search by hand: SAMSYN_ORACLE_EXAMPLES=5000.
EXAMPLES = int(os.environ.get("SAMSYN_ORACLE_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DEFAULT_LIMITS = (1000, 100, 2_621_440)   # Django's DATA_UPLOAD_MAX_NUMBER_FIELDS, _FILES, _MEMORY
CRASHED = 500
MULTIPART = "multipart/form-data; boundary=B"


# --------------------------------------------------------------------- the two answers


def _value(item: Any) -> Any:
    if isinstance(item, FilePart):
        return ("file", item.filename, item.content, item.content_type)
    if hasattr(item, "read"):   # Django's UploadedFile
        item.seek(0)
        return ("file", item.name, item.read(), item.content_type)
    return item


def drf(body: bytes, content_type: str | None, limits: tuple[Any, Any, Any]) -> Any:
    """request.data of DRF's Request over a WSGIRequest of these bytes and headers: ("form",
    {key: last value}) / ("json", value) / (status, text) / (500, the exception)."""
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/sources/", "SCRIPT_NAME": "",
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    fields, files, memory = limits
    try:
        with override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=fields,
                               DATA_UPLOAD_MAX_NUMBER_FILES=files,
                               DATA_UPLOAD_MAX_MEMORY_SIZE=memory):
            request = Request(WSGIRequest(environ), parsers=[
                parsers.JSONParser(), parsers.FormParser(), parsers.MultiPartParser()])
            data = request.data
    except (exceptions.ParseError, exceptions.UnsupportedMediaType) as exc:
        return exc.status_code, str(exc.detail)
    except (TooManyFieldsSent, TooManyFilesSent, RequestDataTooBig) as exc:
        return 400, str(exc)
    except Exception as exc:  # noqa: BLE001 - the legacy's 500
        return CRASHED, repr(exc)
    if isinstance(data, QueryDict):
        return "form", {key: _value(values[-1]) for key, values in data.lists()}
    return "json", data


def ours(body: bytes, content_type: str | None, limits: tuple[Any, Any, Any]) -> Any:
    fields, files, memory = limits
    try:
        data = parsing.parse_body(body, content_type, max_fields=fields, max_files=files,
                                  max_memory=memory)
    except parsing.ParseError as exc:
        return 400, exc.detail
    except parsing.UnsupportedMediaType as exc:
        return 415, exc.detail
    if isinstance(data, FormData):
        return "form", {key: _value(value) for key, value in data.items()}
    return "json", data


def check(body: bytes, content_type: str | None,
          limits: tuple[Any, Any, Any] = DEFAULT_LIMITS) -> Any:
    expected = drf(body, content_type, limits)
    got = ours(body, content_type, limits)
    event(f"{expected[0]}" + (f" {len(expected[1])} keys" if expected[0] == "form" else ""))
    if expected[0] == CRASHED:
        # The legacy crashed (category (a) of DRIFT.md): samsyn answers (ours() lets no other
        # exception through), mostly a 400 or 415; see test_legacy_crashes_get_an_answer.
        return got
    if expected[0] == "json" and too_deep(expected[1]):
        # DRIFT.md "Note — request parsing limits": deeper than 512 levels is a 400 in samsyn.
        assert got == (400, parsing.NESTING_TOO_DEEP), (body[:200], content_type, got)
        return got
    assert got == expected, (body[:300], content_type, limits)
    return got


# --------------------------------------------------------------------- content types


def mostly(common: Any, others: Any) -> Any:
    """`common` three times in four, else one of `others` (realistic inputs first)."""
    return st.integers(0, 3).flatmap(lambda n: common if n else others)


def odd(wild: bool, common: Any, others: Any) -> Any:
    """`common` for a realistic input; for a wild one mostly `common`, else one of `others`."""
    return mostly(common, others) if wild else common


CHARSETS = ["utf-8", "UTF-8", "utf8", "latin-1", "ISO-8859-1", "iso-8859-15", "cp1252",
            "utf-16", "utf-16-le", "UTF-16BE", "utf-32", "utf-8-sig", "ascii", "koi8-r",
            "shift_jis", "klingon", "", "base64", "rot13", "idna", "x\x00y", "utf_7"]
SEPARATORS = st.sampled_from([";", "; ", " ;", ";\t", " ; "])


@st.composite
def charset_param(draw: Any, charset: str) -> str:
    name = draw(mostly(st.just("charset"), st.sampled_from(["Charset", "CHARSET", "charset*"])))
    template = draw(mostly(st.just("{}={}"), st.sampled_from(['{}="{}"', "{} = {}", "{}={} "])))
    return template.format(name, charset)


OTHER_PARAMS = st.sampled_from(["q=1", "x=y", "version=2", "a", "=", "", "name*=utf-8''%C3%A9",
                                "x*=klingon''%41", 'x="a;b"', "x=é", "é=1", "x*=a'b",
                                "boundary=other", "charset=latin-1"])


@st.composite
def content_type(draw: Any, main: str, charset: str | None = None,
                 boundary: str | None = None, wild: bool = True) -> str:
    params = []
    if charset is not None:
        params.append(draw(charset_param(charset)))
    if boundary is not None:
        params.append(draw(odd(wild, st.just("boundary={}"), st.sampled_from(
            ["Boundary={}", "boundary = {}", "boundary*={}", "boundary*=utf-8''{}"])))
            .format(boundary))
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 2])) if wild else 0):
        params.insert(draw(st.integers(0, len(params))), draw(OTHER_PARAMS))
    text = main
    for param in params:
        text += draw(odd(wild, st.just("; "), SEPARATORS)) + param
    return text


JSON_TYPES = ["application/json", "Application/JSON", "APPLICATION/JSON", "application/*",
              "*/*", "*/json", "application/json ", "application/jsonx", "text/json",
              "application/vnd.api+json", "application/json/x", "application /json", "*"]
FORM_TYPES = ["application/x-www-form-urlencoded", "Application/X-WWW-Form-URLEncoded",
              "*/x-www-form-urlencoded", "application/x-www-form-urlencodedx", "application/*"]
MULTIPART_TYPES = ["multipart/form-data", "Multipart/Form-Data", "MULTIPART/FORM-DATA",
                   "multipart/*", "*/form-data", "multipart/mixed", "multipart/form-data ",
                   " multipart/form-data", "*/*"]
OTHER_TYPES = ["", "text/plain", "application", "image/png", "application/octet-stream",
               "application/jsoné", "multipart", "text/html; charset=utf-8"]


def media_types(family: list[str]) -> Any:
    """Mostly the family's own type, else another of the family, sometimes any other."""
    return mostly(st.just(family[0]), st.one_of(st.sampled_from(family), st.sampled_from(
        JSON_TYPES + FORM_TYPES + MULTIPART_TYPES + OTHER_TYPES)))


COMMON_CHARSETS = st.sampled_from([None, None, None, "utf-8", "UTF-8", "latin-1"])


def encode(text: str, encoding: str) -> bytes:
    """The text in `encoding` (what it cannot hold as "?"); as UTF-8 for a non-text codec."""
    if encoding == "base64(utf-8)":
        return base64.b64encode(text.encode())
    try:
        return text.encode(encoding, "replace")
    except (LookupError, ValueError):   # rot13..., idna (no "replace"), a NUL in the name
        return text.encode()


# --------------------------------------------------------------------- JSON

TEXT = st.text(st.sampled_from("aZ09 _-.é€日\t&=+%;\"\\/'*\x00\u2028"), max_size=6)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
              st.floats(allow_nan=False, allow_infinity=False), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6)
ODD_JSON = [b"", b" ", b"NaN", b"[Infinity]", b'{"a": -Infinity}', b'{"a": 1e999}', b"null",
            b'"\\ud800"', b"[1,]", b"{bad json}", b"\xef\xbb\xbf{}", b'{"a":1}\xe2\x82',
            b'{"a":"\xff"}', b'{"a": 1, "a": 2}', b"[" * 600 + b"]" * 600,
            b"[" * 3000 + b"]" * 3000, b"1" * 5000, b'"\\u00e9"', b"\x00"]


@st.composite
def json_bodies(draw: Any) -> tuple[bytes, str | None]:
    charset = draw(mostly(COMMON_CHARSETS, st.sampled_from(CHARSETS)))
    if draw(st.integers(0, 4)) == 0:
        body = draw(st.sampled_from(ODD_JSON))
    else:
        text = json.dumps(draw(JSON_VALUES), ensure_ascii=draw(st.booleans()))
        body = encode(text, draw(st.sampled_from(
            [charset or "utf-8", charset or "utf-8", "utf-8", "latin-1", "utf-16", "utf-16-le",
             "base64(utf-8)"])))
        cut = draw(st.integers(0, 10))
        if cut == 0:
            body = body[:draw(st.integers(0, len(body)))]
        elif cut == 1:
            body = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b" ", b"\xe9"])) + body
        elif cut == 2:
            body += draw(st.sampled_from([b"\xe2\x82", b"\xff", b" \n", b"x", b"\x00"]))
    return body, draw(content_type(draw(media_types(JSON_TYPES)), charset))


@SETTINGS
@given(json_bodies())
@example((b'{"a":"\xe9"}', "application/json; charset=latin-1"))
@example((b'{"a":1}', "*/*"))
@example((b"[" * 600 + b"]" * 600, "application/json"))
def test_json_bodies_are_drfs(case: tuple[bytes, str | None]) -> None:
    check(*case)


# --------------------------------------------------------------------- urlencoded forms

FORM_TEXT = st.text(st.sampled_from("aZ09 _-.~é€日&=+%;#\x00\n"), max_size=5)
RAW_FORM_BYTES = [b"%", b"%z", b"%4", b"%41", b"%e9", b"%ff", b"%C3%A9", b"%00", b"+", b"\xe9",
                  b"\xff", b"\xc3\xa9", b"&", b"=", b";", b" ", b"%2B", b"%26"]


@st.composite
def form_token(draw: Any, encoding: str) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 3:
        return b"".join(draw(st.lists(st.sampled_from(RAW_FORM_BYTES), max_size=3)))
    text = draw(FORM_TEXT)
    if kind == 0:
        return quote_plus(text, encoding="utf-8").encode()
    if kind == 1:
        try:
            return quote(text, encoding=encoding, errors="replace").encode()
        except (LookupError, ValueError):
            return quote(text).encode()
    return encode(text, encoding)


@st.composite
def form_bodies(draw: Any) -> tuple[bytes, str | None]:
    charset = draw(mostly(COMMON_CHARSETS, st.sampled_from(CHARSETS)))
    encoding = draw(st.sampled_from([charset or "utf-8", "utf-8", "latin-1", "utf-16"]))
    segments = []
    for _ in range(draw(st.integers(0, 6))):
        key, value = draw(form_token(encoding)), draw(form_token(encoding))
        segments.append(draw(st.sampled_from([   # k=v, k=v, k, =v, (empty), k=v=v, k=
            key + b"=" + value, key + b"=" + value, key, b"=" + value, b"",
            key + b"=" + value + b"=" + value, key + b"="])))
    body = draw(st.sampled_from([b"&", b"&", b"&&", b";"])).join(segments)
    if draw(st.integers(0, 9)) == 0:
        body = b"&".join([b"a=1"] * draw(st.integers(1, 6)))
    return body, draw(content_type(draw(media_types(FORM_TYPES)), charset))


LIMITS = st.one_of(st.just(DEFAULT_LIMITS), st.tuples(
    st.sampled_from([None, 0, 1, 2, 3, 1000]), st.sampled_from([None, 0, 1, 2, 100]),
    st.sampled_from([None, 0, 5, 20, 60, 2_621_440])))


@SETTINGS
@given(form_bodies(), LIMITS)
@example((b"a=%e9&b=\xe9", "application/x-www-form-urlencoded; charset=latin-1"), DEFAULT_LIMITS)
@example((b"a=\xe9&a=2&c", "application/x-www-form-urlencoded"), DEFAULT_LIMITS)
@example((b"a=1&b=2&c=3", "application/x-www-form-urlencoded"), (2, 100, 2_621_440))
def test_form_bodies_are_drfs(case: tuple[bytes, str | None], limits: Any) -> None:
    check(*case, limits)


# --------------------------------------------------------------------- multipart

BOUNDARIES = ["B", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "a b", "x" * 70, "x" * 201,
              "x" * 202, "b;c", "é", "-", "q\"q", "a=b", "B ", "AaB03x"]
NAMES = ['name="{}"', "name={}", 'NAME="{}"', 'name = "{}"', "name*=UTF-8''{}",
         "name*=utf-8'en'{}", "name*={}", 'name="{}"; name="other"', 'name=" {} "']
FILENAMES = ['filename="a.txt"', 'filename=""', 'filename="."', 'filename=".."',
             'filename="../x/y.txt"', 'filename="C:\\\\dir\\\\f.txt"', 'filename="&amp;lt;.txt"',
             'filename="a\x01b.txt"', 'filename="' + "n" * 300 + '.txt"', 'filename="x/"',
             "filename*=UTF-8''%C3%BC.txt", "filename*=UTF-8''", "filename=é.txt",
             'Filename="A.TXT"', "filename*=klingon''%41", 'filename=" "']
PART_HEADERS = ["Content-Type: text/plain", "Content-Type: Text/Plain; charset=latin-1",
                "Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64",
                "content-transfer-encoding: BASE64", "Content-Length: 3", "X-Junk: y",
                "no colon here", "Ä: x", "", "X-Pad: " + "p" * 1030]
NAME_TEXT = st.text(st.sampled_from("ab Z_-é\";\\日 '%"), max_size=5)


@st.composite
def disposition(draw: Any, encoding: str, wild: bool) -> bytes:
    header = draw(odd(wild, st.just("Content-Disposition"), st.sampled_from([
        "content-disposition", "CONTENT-DISPOSITION", "Content-Disposition ",
        "X-Content-Disposition"])))
    main = draw(odd(wild, st.just("form-data"), st.sampled_from(
        ["Form-Data", "attachment", "", 'form"data'])))
    params = []
    if draw(st.integers(0, 15)) or not wild:
        name = draw(mostly(st.sampled_from(["a", "b", "sid", "attributes"]), NAME_TEXT))
        template = draw(mostly(st.just(NAMES[0]), st.sampled_from(NAMES)))
        if "*=" in template:
            name = quote(name)
        elif template.startswith('name="') or template.startswith('NAME="'):
            name = name.replace("\\", "\\\\").replace('"', '\\"')
        params.append(template.format(name))
    if draw(st.integers(0, 2)) == 0:
        params.append(draw(mostly(st.just(FILENAMES[0]), st.sampled_from(FILENAMES))))
    if wild and draw(st.integers(0, 3)) == 0:
        params = draw(st.permutations(params))
    if wild and draw(st.integers(0, 4)) == 0:
        params.insert(0, draw(OTHER_PARAMS))
    text = header + ":" + draw(odd(wild, st.just(" "), st.sampled_from(["", "  "]))) + main
    for param in params:
        text += draw(odd(wild, st.just("; "), SEPARATORS)) + param
    return encode(text, encoding)


@st.composite
def part_content(draw: Any, boundary: bytes, encoding: str) -> bytes:
    kind = draw(st.integers(0, 15))
    if kind == 0:
        return base64.b64encode(draw(st.binary(max_size=12)))
    if kind == 1:
        return draw(st.sampled_from([b"YQ=", b"YQ==YQ==", b"Y Q = =", b"!!!!", b"YWJj\r\nZGVm"]))
    if kind == 2:
        return draw(st.sampled_from([b"--", b"--" + boundary + b"x", b"\r\n--" + boundary,
                                     b"a\r\n\r\nb", b"\r", b"\n", b"\r\n"]))
    if kind == 3:
        filler = draw(st.sampled_from([b"x", b"ab\r\n", b"\xe9"]))
        return filler * draw(st.sampled_from([500, 1000, 1020, 1030, 2000]))
    return encode(draw(TEXT), draw(st.sampled_from([encoding, "utf-8", "latin-1"])))


@st.composite
def multipart_bodies(draw: Any) -> tuple[bytes, str | None]:
    """A realistic body (a browser's, other names, values, filenames, charsets) or, as often,
    a wild one: every layout choice mostly the browser's, else an odd one."""
    wild = draw(st.booleans())
    boundary = draw(odd(wild, st.sampled_from(BOUNDARIES[:2]), st.sampled_from(BOUNDARIES)))
    sent = boundary.encode("latin-1") if draw(st.integers(0, 19)) or not wild else b"other"
    charset = draw(odd(wild, COMMON_CHARSETS, st.sampled_from(CHARSETS)))
    encoding = draw(st.sampled_from([charset or "utf-8", "utf-8", "latin-1"]))
    newline = draw(odd(wild, st.just(b"\r\n"), st.just(b"\n")))
    body = draw(odd(wild, st.just(b""), st.sampled_from([b"preamble\r\n", b"\r\n"])))
    for _ in range(draw(odd(wild, st.integers(1, 4), st.integers(0, 6)))):
        body += b"--" + sent + draw(odd(wild, st.just(newline), st.sampled_from([b" \r\n", b""])))
        lines = []
        if draw(st.integers(0, 9)) or not wild:
            lines.append(draw(disposition(encoding, wild)))
        headers = PART_HEADERS if wild else PART_HEADERS[:3]
        for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
            lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(headers))
                         .encode("utf-8"))
        if wild and draw(st.integers(0, 5)) == 0 and lines:
            lines.append(lines[0])   # a repeated header: the last one counts
        body += newline.join(lines) + newline + newline + draw(part_content(sent, encoding))
        body += draw(odd(wild, st.just(newline), st.sampled_from([b"", b"\r"])))
    body += draw(odd(wild, st.just(b"--" + sent + b"--\r\n"), st.sampled_from([
        b"--" + sent + b"--", b"--" + sent, b"",
        b"--" + sent + b"--\r\nepilogue --" + sent + b"\r\n\r\nx"])))
    main = draw(odd(wild, st.just(MULTIPART_TYPES[0]), media_types(MULTIPART_TYPES)))
    sent_type = draw(odd(wild, st.sampled_from([boundary, boundary, boundary, f'"{boundary}"']),
                         st.sampled_from(['"' + boundary + '"' if '"' not in boundary else "q",
                                          "", "B"])))
    return body, draw(content_type(main, charset, sent_type, wild))


@SETTINGS
@given(multipart_bodies(), LIMITS)
@example((b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--B--\r\n',
          "Multipart/Form-Data; boundary=B"), DEFAULT_LIMITS)
@example((b'--B\r\nContent-Disposition: form-data; name="a"; filename="x"\r\n\r\nv',
          "multipart/form-data; boundary=B"), DEFAULT_LIMITS)
def test_multipart_bodies_are_drfs(case: tuple[bytes, str | None], limits: Any) -> None:
    check(*case, limits)


@st.composite
def large_multipart_bodies(draw: Any) -> tuple[bytes, str | None]:
    """Parts that end, or hold a separator or CRLFCRLF, around Django's 64 KiB read chunks
    (and its len(separator) + 6 roll-back), including unread (skipped) ones."""
    sep = b"--" + draw(st.sampled_from([b"B", b"x" * 70]))
    body = b""
    for _ in range(draw(st.integers(1, 3))):
        header = draw(st.sampled_from([
            b'Content-Disposition: form-data; name="f"\r\n\r\n',
            b'Content-Disposition: form-data; name="u"; filename="a.txt"\r\n\r\n',
            b'Content-Disposition: form-data; name="u"; filename="a.txt"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n",
            b"Content-Disposition: form-data\r\n\r\n",                      # no name: skipped
            b'Content-Disposition: form-data; name="s"; filename=".."\r\n\r\n',   # skipped
            b"Content-Type: text/plain\r\n\r\n", b""]))
        start = len(body) + len(sep) + 2 + len(header)
        chunks = start // 65536 + draw(st.sampled_from([1, 1, 2]))   # end near a chunk's end
        size = max(chunks * 65536 + draw(st.integers(-120, 120)) - start, 0)
        filler = draw(st.sampled_from([b"x", b"QUJD", b"ab\r\n", b"\r\n\r\n"]))
        content = (filler * (size // len(filler) + 1))[:size]
        if draw(st.booleans()):
            at = draw(st.integers(0, len(content)))
            content = content[:at] + draw(st.sampled_from([sep, b"\r\n" + sep, b"\r\n\r\n"])) \
                + content[at:]
        body += sep + b"\r\n" + header + content + b"\r\n"
    body += draw(st.sampled_from([sep + b"--\r\n", b"", sep]))
    return body, "multipart/form-data; boundary=" + sep[2:].decode()


@settings(max_examples=max(EXAMPLES // 6, 10), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(large_multipart_bodies())
def test_multipart_chunk_edges_are_djangos(case: tuple[bytes, str | None]) -> None:
    check(*case)


OPENERS = [b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n',
           b'--B\r\nContent-Disposition: form-data; name="b"\r\n\r\n',
           b'--B\r\nContent-Disposition: form-data; name="a"; filename="f.txt"\r\n\r\n',
           b'--B\r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\n'
           b"Content-Transfer-Encoding: base64\r\n\r\n",
           b'--B\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: form-data; name="b"'
           b"\r\n\r\n"]
SOUP = [b"--B", b"--B--", b"\r\n", b"\r\n", b"\r\n\r\n", b"\n", b"\r", b"--", b"-", b"B", b"x",
        b"YQ==", b"YWJj", b"=", b";", b'"', b" ", b"\xe9", b"\xff",
        b"Content-Disposition: form-data", b'; name="a"', b"; name=b", b'; filename="f.txt"',
        b'; filename=""', b"; name*=UTF-8''%C3%A9", b"Content-Transfer-Encoding: base64",
        b"Content-Type: text/plain", b"content-disposition:form-data;name=a"]


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(OPENERS), st.sampled_from(SOUP)), max_size=30)
       .map(b"".join), LIMITS)
def test_multipart_token_soup_is_djangos(body: bytes, limits: Any) -> None:
    """Separators, CRLFs and header pieces in any order."""
    check(body, MULTIPART, limits)


# --------------------------------------------------------------------- any body, any type


@SETTINGS
@given(st.one_of(json_bodies(), form_bodies(), multipart_bodies()),
       st.one_of(st.none(), st.sampled_from(JSON_TYPES + FORM_TYPES + MULTIPART_TYPES
                                            + OTHER_TYPES)))
def test_any_body_with_any_type_is_drfs(case: tuple[bytes, str | None],
                                        other_type: str | None) -> None:
    body, _ = case
    check(body, other_type)
    check(b"", other_type)


# --------------------------------------------------------------------- the fixed differences

def _part(headers: str | bytes, content: bytes = b"v") -> bytes:
    raw = headers.encode("utf-8") if isinstance(headers, str) else headers
    return b"--B\r\n" + raw + b"\r\n\r\n" + content + b"\r\n"


FIELD_A = 'Content-Disposition: form-data; name="a"'
GHOST = b"--B\r\nContent-Disposition: form-data\r\n\r\n"
FILE_A = 'Content-Disposition: form-data; name="a"; filename="x.txt"'


@pytest.mark.parametrize("body,content_type,expected", [
    # select_parser: a `*` in the request's type matches DRF's parsers (JSON first).
    (b'{"a":1}', "*/*", ("json", {"a": 1})),
    (b'{"a":1}', "application/*", ("json", {"a": 1})),
    (b"a=1", "*/x-www-form-urlencoded", ("form", {"a": "1"})),
    # QueryDict: %-escapes decoded with the request's charset; undecodable bytes as ISO-8859-1.
    (b"a=%e9&b=\xe9", "application/x-www-form-urlencoded; charset=latin-1",
     ("form", {"a": "é", "b": "é"})),
    (b"a=\xe9", "application/x-www-form-urlencoded", ("form", {"a": "é"})),
    # A non-text codec... QueryDict wraps every ValueError of parse_qsl as TooManyFieldsSent.
    (b"a=%41", "application/x-www-form-urlencoded; charset=idna",
     (400, parsing.TOO_MANY_FIELDS)),
    # Django's MultiPartParser wants the Content-Type as sent to start with "multipart/".
    (_part(FIELD_A) + b"--B--\r\n", "Multipart/Form-Data; boundary=B",
     (400, "Multipart form parse error - Invalid Content-Type: Multipart/Form-Data; boundary=B")),
    (b"x", 'multipart/form-data; boundary="a b "',
     (400, "Multipart form parse error - Invalid boundary in multipart: a b ")),
    (b"x", "multipart/form-data; boundary=é",
     (400, "Multipart form parse error - Invalid non-ASCII Content-Type in multipart: "
           "multipart/form-data; boundary=é")),
    # Field values and names: the request's charset, errors replaced (no part charset).
    (_part(FIELD_A, b"\xff") + b"--B--\r\n", MULTIPART, ("form", {"a": "\ufffd"})),
    (_part(b'Content-Disposition: form-data; name="\xe9"') + b"--B--\r\n",
     MULTIPART + "; charset=latin-1", ("form", {"é": "v"})),
    # filename="" is a field; a file wins over a field of its name whatever the order.
    (_part(FIELD_A + '; filename=""') + b"--B--\r\n", MULTIPART, ("form", {"a": "v"})),
    (_part(FILE_A) + _part(FIELD_A, b"w") + b"--B--\r\n", MULTIPART,
     ("form", {"a": ("file", "x.txt", b"v", "")})),
    # A file part with nothing after it is dropped (upload_interrupted).
    (_part(FILE_A)[:-2], MULTIPART, ("form", {})),
    (_part(FILE_A) + b"--B", MULTIPART, ("form", {})),
    # The separator ends a part wherever it is, not only at a line start.
    (_part(FIELD_A, b"v--Bx") + b"--B--\r\n", MULTIPART, ("form", {"a": "v"})),
    # sanitize_file_name: entities, paths, non-printables; "" / "." / ".." skip the part.
    (_part(FIELD_A + '; filename="../d/&amp;b\x01.txt"') + b"--B--\r\n", MULTIPART,
     ("form", {"a": ("file", "&b.txt", b"v", "")})),
    (_part(FIELD_A + '; filename=".."') + b"--B--\r\n", MULTIPART, ("form", {})),
    # Content-Type of a file part as sent (lower-cased), "" without one.
    (_part(FILE_A + "\r\nContent-Type: Text/Plain; charset=latin-1") + b"--B--\r\n",
     MULTIPART, ("form", {"a": ("file", "x.txt", b"v", "text/plain")})),
    # A repeated Content-Disposition: the last one.
    (_part(FIELD_A + '\r\nContent-Disposition: form-data; name="b"') + b"--B--\r\n",
     MULTIPART, ("form", {"b": "v"})),
    # Headers past the part's first 1024 bytes: a raw part.
    (_part("X-Pad: " + "p" * 1030 + "\r\n" + FIELD_A) + b"--B--\r\n", MULTIPART, ("form", {})),
    # A file with an empty field name is never completed.
    (_part('Content-Disposition: form-data; name=""; filename="x.txt"') + b"--B--\r\n",
     MULTIPART, ("form", {})),
    # A skipped (nameless) part is left unread: past the first 64 KiB chunk, Django goes on from
    # where its first piece stopped (the chunk's end less len(separator) + 6 bytes).
    (GHOST.ljust(65536 - 9, b"x") + b'Content-Disposition: form-data; name="g"\r\n\r\nboo\r\n'
     + b"--B--\r\n", MULTIPART, ("form", {"g": "boo"})),
])
def test_fixed_differences(body: bytes, content_type: str, expected: Any) -> None:
    assert drf(body, content_type, DEFAULT_LIMITS) == expected
    assert ours(body, content_type, DEFAULT_LIMITS) == expected


@pytest.mark.parametrize("body,content_type,expected", [
    (b"x", "application/jsoné", (415, 'Unsupported media type "application/jsoné" in request.')),
    (b"", "application/jsoné", ("json", {})),
    (b"a=1", "application/x-www-form-urlencoded; charset=rot13",
     (400, "Form parse error - 'rot13' is not a text encoding; use codecs.decode() to handle "
           "arbitrary codecs")),
    (b"{}", "application/json; charset=x\x00y", ("json", {})),   # read as UTF-8
    (b"[" * 3000 + b"]" * 3000, "application/json", (400, parsing.NESTING_TOO_DEEP)),
    (_part("Content-Disposition: form-data; name*=klingon''%41"), MULTIPART,
     (400, "Multipart form parse error - unknown encoding: klingon")),
    (_part(FIELD_A), MULTIPART + "; charset=idna",
     (400, "Multipart form parse error - decoding with 'idna' codec failed (UnicodeError: "
           "Unsupported error handling replace)")),
])
def test_legacy_crashes_get_an_answer(body: bytes, content_type: str, expected: Any) -> None:
    """What DRF/Django answered with a 500 (no DRF/Django text to copy)."""
    assert drf(body, content_type, DEFAULT_LIMITS)[0] == CRASHED
    assert ours(body, content_type, DEFAULT_LIMITS) == expected


# ---------------------------------------------------------------- the query string (request.GET)

_QUERY_BYTES = st.lists(st.one_of(
    st.sampled_from([b"a", b"=", b"&", b";", b"+", b"%", b"%C3%A9", b"%E9", b"%zz", b"page",
                     b"\xc3\xa9", b"\xe9", b"\xff", b"\xe2\x82\xac", b" ", b"%00"]),
    st.binary(max_size=4)), max_size=12).map(b"".join)


@SETTINGS
@given(raw=_QUERY_BYTES, charset=st.sampled_from(["utf-8", "iso-8859-1", "cp1252", "utf-16"]))
@example(raw=b"search=\xc3\xa9", charset="utf-8")   # raw UTF-8: 'é', not Latin-1's 'Ã©'
@example(raw=b"search=\xe9", charset="utf-8")       # not UTF-8: read as ISO-8859-1
def test_query_string_is_read_as_django_querydict_reads_it(raw: bytes, charset: str) -> None:
    """WSGIRequest.GET = QueryDict(raw QUERY_STRING bytes, encoding=request.encoding)."""
    expected = list(QueryDict(raw, encoding=charset).lists())
    got: dict[str, list[str]] = {}
    for key, value in parsing.query_dict(raw, charset, 1000):
        got.setdefault(key, []).append(value)
    assert list(got.items()) == expected


@pytest.mark.parametrize("raw, content_type", [
    (b"search=\xc3\xa9&page=2", None), (b"search=\xe9", None), (b"search=%E9", None),
    (b"search=\xe9", "application/json; charset=iso-8859-1"),
    (b"search=%E9", "text/plain; charset=cp1252")])
def test_views_read_query_params_as_request_get(raw: bytes, content_type: str | None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from litestar import Request as LitestarRequest

    from samsyn.api import views
    from samsyn.settings import get_settings
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never opened
    get_settings.cache_clear()
    headers = [(b"content-type", content_type.encode())] if content_type else []
    request: Any = LitestarRequest({"type": "http", "method": "GET", "path": "/",
                                    "query_string": raw, "headers": headers})
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "",
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(b""),
               "QUERY_STRING": raw.decode("latin-1")}  # WSGI: the bytes as Latin-1 text
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    expected = dict(WSGIRequest(environ).GET.items())
    try:
        assert views._query_params(request) == expected
    finally:
        get_settings.cache_clear()
