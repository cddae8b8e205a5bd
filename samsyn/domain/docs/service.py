"""Pure logic of the documentation endpoints (no HTTP framework, no database).

* content negotiation over drf-spectacular's four schema renderers (DRF DefaultContentNegotiation),
* the schema documents: English, German, French (YAML and JSON) as recorded in `data/`; every
  other language drf-spectacular's `?lang=` reached (SpectacularAPIView.get under
  translation.override: Django's to_locale + gettext's locale fallbacks) rendered from the
  English one with the Django 4.1.13 / DRF 3.14.0 catalogue strings (`data/translations.json`),
* drf-spectacular's OpenApiYamlRenderer with a small emitter that writes what PyYAML's SafeDumper
  writes for these documents and error bodies (PyYAML is not a runtime dependency),
* Django's CSRF cookie/token (secret in the cookie, masked token in the page),
* the Swagger UI / ReDoc pages.
"""
from __future__ import annotations

import functools
import html
import json
import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from samsyn.compat.negotiation import Negotiated, Renderer

DATA = Path(__file__).with_name("data")
TITLE = "ALL KNOWING GIS DASHBOARD API"
SPECTACULAR_VERSION = "1.0.0"


# ---------------------------------------------------------------------------------------------
# The renderers of the schema and docs views (negotiated by samsyn.compat.negotiation)

YAML = Renderer("application/vnd.oai.openapi", "yaml", "utf-8")
YAML2 = Renderer("application/yaml", "yaml", "utf-8")
JSON = Renderer("application/vnd.oai.openapi+json", "json", None)
JSON2 = Renderer("application/json", "json", None)
SCHEMA_RENDERERS = (YAML, YAML2, JSON, JSON2)       # SpectacularAPIView.renderer_classes
HTML = Renderer("text/html", "html", "utf-8")      # TemplateHTMLRenderer (swagger, redoc)
PARSES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
SCHEMA_JSON_INDENT = 4      # OpenApiJsonRenderer.get_indent: `indent=N` or 4


# ---------------------------------------------------------------------------------------------
# Schema documents

LANGUAGES = ("de", "fr")   # the translations recorded from the legacy (stored bytes)
# Model fields whose label drf-spectacular writes as `title` (capfirst of the translated
# verbose_name, only when it is not a trivial variation of the field name), per component.
_USER_FIELDS = {"username": "username", "first_name": "first name", "last_name": "last name",
                "email": "email address"}
LABELLED = {**{name: _USER_FIELDS for name in ("PatchedUser", "PatchedUserDetails", "User",
                                               "UserDetails")},
            "Token": {"key": "Key"}}
_TITLE_AFTER = frozenset({"type", "format", "readOnly"})   # the keys drf-spectacular sets first


@functools.cache
def _catalogue() -> dict[str, dict[str, str]]:
    """msgid -> {locale directory: msgstr} (gen_data.build_translations; Django 4.1.13 and
    DRF 3.14.0 catalogues, license in data/TRANSLATIONS-LICENSE)."""
    return json.loads((DATA / "translations.json").read_bytes())


def to_locale(language: str) -> str:
    """django.utils.translation.to_locale: `pt-br` -> pt_BR, `zh-hans` -> zh_Hans."""
    lang, _, country = language.lower().partition("-")
    if not country:
        return language[:3].lower() + language[3:]
    country, _, tail = country.partition("-")
    country = country.title() if len(country) > 2 else country.upper()
    if tail:
        country += "-" + tail
    return lang + "_" + country


def _candidates(lang: str) -> list[str]:
    """The locale directories gettext.find tries for translation.override(lang), most specific
    first (its private _expand_lang: locale.normalize aliases, then the codeset / territory /
    modifier combinations)."""
    import gettext
    try:
        return list(gettext._expand_lang(to_locale(lang)))  # type: ignore[attr-defined]
    except (ValueError, TypeError):
        return []


def translator(lang: str, catalogue: dict[str, dict[str, str]] | None = None,
               candidates: list[str] | None = None) -> Any:
    """gettext for one language as DjangoTranslation answers these msgids: each lives in one
    app's catalogue, whose most specific existing directory is asked first, then the less
    specific ones (its fallbacks); no translation -> the msgid (English)."""
    catalogue = _catalogue() if catalogue is None else catalogue
    candidates = _candidates(lang) if candidates is None else candidates

    def gettext(msgid: str) -> str:
        for directory in candidates:
            found = catalogue.get(msgid, {}).get(directory)
            if found:
                return found
        return msgid
    return gettext


def _selection(lang: str) -> tuple[str, ...]:
    """The locale directories that supply a translation for `lang`, in gettext's order: asking
    only these gives the same answers (a bounded cache key, whatever `lang` was sent)."""
    catalogue = _catalogue()
    used: list[str] = []
    for msgid, by_dir in catalogue.items():
        for directory in _candidates(lang):
            if by_dir.get(directory):
                if directory not in used:
                    used.append(directory)
                break
    order = _candidates(lang)
    return tuple(sorted(used, key=order.index))


def _is_trivial(a: str, b: str) -> bool:
    """drf_spectacular.plumbing.is_trivial_string_variation."""
    def norm(s: str) -> str:
        return s.strip().lower().replace(" ", "_").replace("-", "_")
    return norm(a) == norm(b)


def _with_title(schema: dict[str, Any], field: str, label: str) -> dict[str, Any]:
    items = [(k, v) for k, v in schema.items() if k != "title"]
    if _is_trivial(label, field):
        return dict(items)
    at = 0
    while at < len(items) and items[at][0] in _TITLE_AFTER:
        at += 1
    return dict(items[:at] + [("title", label)] + items[at:])


def translate_schema(english: dict[str, Any], gettext: Any,
                     msgids: Any = None) -> dict[str, Any]:
    """The English document as drf-spectacular renders it under translation.override: model
    labels become `title`s (or lose them), and every description that is a catalogue msgid
    (help texts, DRF's pagination/search/ordering parameters) is translated."""
    catalogue = _catalogue() if msgids is None else msgids

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (gettext(v) if k == "description" and isinstance(v, str)
                        and v in catalogue else walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    doc = walk(english)
    schemas = doc["components"]["schemas"]
    for component, fields in LABELLED.items():
        properties = schemas.get(component, {}).get("properties", {})
        for field, msgid in fields.items():
            if field in properties:
                label = gettext(msgid)
                properties[field] = _with_title(properties[field], field,
                                                label[:1].upper() + label[1:])  # capfirst
    return doc


def schema_language(lang: str | None) -> str:
    """`?lang=` -> the document language, as drf-spectacular's `translation.override(lang)`
    (only for a non-empty `lang`; the legacy had no LocaleMiddleware: Accept-Language is
    ignored). "en" when no catalogue translates anything, "de" / "fr" when the catalogues
    chosen are the recorded ones, else "i18n:<dir>+<dir>" (rendered from the English document).
    """
    if not lang:
        return "en"
    selection = _selection(lang)
    gettext = translator("", candidates=list(selection))
    if all(gettext(msgid) == msgid for msgid in _catalogue()):  # none, or the `en` catalogues
        return "en"
    for recorded in LANGUAGES:
        if selection == _selection(recorded):
            return recorded
    return "i18n:" + "+".join(selection)


@functools.lru_cache(maxsize=128)
def _translated(key: str) -> dict[str, bytes]:
    gettext = translator("", candidates=key[len("i18n:"):].split("+"))
    doc = translate_schema(json.loads(schema_document("en", "json")), gettext)
    return {"json": render_json(doc), "yaml": yaml_dump(doc).encode()}


def schema_document(lang: str, fmt: str) -> bytes:
    """The bytes of one document (`lang` from schema_language, `fmt` yaml/json): the stored
    recorded ones for en/de/fr, else rendered from the English document once per catalogue
    selection."""
    if lang.startswith("i18n:"):
        return _translated(lang)[fmt]
    return _stored_document(lang, fmt)


@functools.cache
def _stored_document(lang: str, fmt: str) -> bytes:
    return (DATA / f"schema.{lang}.{fmt}").read_bytes()


@functools.cache
def _schema_data(lang: str) -> Any:
    return json.loads(schema_document(lang, "json"))


def schema_body(lang: str, negotiated: Negotiated, version: str | None = None) -> bytes:
    """GET /api/schema/ body for a language and the negotiated renderer.

    `version` (the `?version=` parameter; DRF ALLOWED_VERSIONS unset accepts any) makes
    drf-spectacular write `info.version` as "1.0.0 (<version>)".
    """
    fmt = negotiated.renderer.format
    if fmt == "json":
        indent = negotiated.indent(SCHEMA_JSON_INDENT)
        if indent == 4 and not version:
            return schema_document(lang, "json")
        data = _schema_data(lang)
        if version:
            data = dict(data, info=dict(data["info"], version=f"{SPECTACULAR_VERSION} ({version})"))
        return render_json(data, indent)
    body = schema_document(lang, "yaml")
    if version:
        old = f"\n  version: {SPECTACULAR_VERSION}\n".encode()
        new = ("\n" + yaml_dump({"version": f"{SPECTACULAR_VERSION} ({version})"}, indent=2)
               ).encode()
        body = body.replace(old, new, 1)
    return body


def schema_filename(renderer: Renderer, version: str | None = None) -> str:
    suffix = f" ({version})" if version else ""
    return f"{TITLE}{suffix}.{renderer.format}"


def render_json(data: Any, indent: int | None = 4) -> bytes:
    """DRF JSONRenderer with an indent (INDENT_SEPARATORS), unicode unescaped."""
    text = json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False,
                      separators=(",", ": ") if indent is not None else (",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


# ---------------------------------------------------------------------------------------------
# Errors and metadata as the schema view renders them

@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """rest_framework.exceptions.ErrorDetail: a string with a code."""
    string: str
    code: str


def error_details(data: Any, code: str) -> Any:
    """DRF _get_error_details: every string leaf becomes ErrorDetail(str, code)."""
    if isinstance(data, dict):
        return {key: error_details(value, code) for key, value in data.items()}
    if isinstance(data, list):
        return [error_details(value, code) for value in data]
    return ErrorDetail(str(data), code)


def auth_error_code(body: dict[str, Any]) -> str:
    """The ErrorDetail code of a simplejwt failure body: InvalidToken's default_code
    `token_not_valid`; simplejwt's plain AuthenticationFailed keeps DRF's
    `authentication_failed` (its `code` key is data, not the ErrorDetail code)."""
    return "token_not_valid" if body.get("code") == "token_not_valid" else "authentication_failed"


def render_error(data: Any, negotiated: Negotiated) -> bytes:
    """An exception body through the negotiated renderer (YAML: ErrorDetail as a mapping)."""
    if negotiated.renderer.format == "yaml":
        return yaml_dump(data).encode()
    return render_json(_plain(data), negotiated.indent(SCHEMA_JSON_INDENT))


def _plain(data: Any) -> Any:
    if isinstance(data, ErrorDetail):
        return data.string
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


SCHEMA_VIEW_NAME = "Spectacular Api"
SCHEMA_VIEW_DESCRIPTION = ("OpenApi3 schema for this API. Format can be selected via content "
                           "negotiation.\n\n- YAML: application/vnd.oai.openapi\n"
                           "- JSON: application/vnd.oai.openapi+json")


def schema_metadata() -> dict[str, Any]:
    """SimpleMetadata of SpectacularAPIView (no actions: it has no POST/PUT)."""
    return {
        "name": SCHEMA_VIEW_NAME,
        "description": SCHEMA_VIEW_DESCRIPTION,
        "renders": [r.media_type for r in SCHEMA_RENDERERS],
        "parses": list(PARSES),
    }


# ---------------------------------------------------------------------------------------------
# A YAML emitter for small bodies, byte-identical to drf-spectacular's OpenApiYamlRenderer
# (PyYAML SafeDumper, block style, sort_keys=False, allow_unicode=True, width 80) for
# mappings / lists / strings / ErrorDetail.

_BEST_WIDTH = 80
_IMPLICIT = [re.compile(rx, re.X) for rx in (
    r"""^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$""",
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
    r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+
        |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""",
    r"""^(?:<<)$""",
    r"""^(?:~|null|Null|NULL|)$""",
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
         (?:[Tt]|[ \t]+)[0-9][0-9]?
         :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
         (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    r"""^(?:=)$""",
)]
# Resolver.yaml_implicit_resolvers is keyed by the first character: a resolver only applies to
# strings starting with one of its characters (the null resolver also to the empty string).
_IMPLICIT_FIRST = ["yYnNtTfFoO", "-+0123456789.", "-+0123456789", "<", "~nN", "0123456789", "="]


def _resolves_to_non_str(text: str) -> bool:
    if text == "":
        return True
    return any(text[0] in first and rx.match(text)
               for rx, first in zip(_IMPLICIT, _IMPLICIT_FIRST))


def _printable(ch: str) -> bool:
    """Emitter.analyze_scalar's printable test with allow_unicode=True."""
    return (ch == "\n" or "\x20" <= ch <= "\x7e" or ch == "\x85"
            or ("\xa0" <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd")
            or ("\U00010000" <= ch < "\U0010ffff")) and ch != "\ufeff"


def _analyze(text: str) -> tuple[bool, bool, bool]:
    """(allow_block_plain, allow_single_quoted, allow_block) as PyYAML's Emitter.analyze_scalar
    decides."""
    if not text:
        return False, True, False
    block_indicators = False
    special = False
    line_breaks = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = False
    previous_space = previous_break = False
    if text.startswith("---") or text.startswith("..."):
        block_indicators = True
    preceded_by_whitespace = True
    followed_by_whitespace = len(text) == 1 or text[1] in "\0 \t\r\n\x85\u2028\u2029"
    index = 0
    while index < len(text):
        ch = text[index]
        if index == 0:
            if ch in "#,[]{}&*!|>'\"%@`":
                block_indicators = True
            if ch in "?:" and followed_by_whitespace:
                block_indicators = True
            if ch == "-" and followed_by_whitespace:
                block_indicators = True
        else:
            if ch == ":" and followed_by_whitespace:
                block_indicators = True
            if ch == "#" and preceded_by_whitespace:
                block_indicators = True
        if ch in "\n\x85\u2028\u2029":
            line_breaks = True
        if not _printable(ch):
            special = True
        if ch == " ":
            if index == 0:
                leading_space = True
            if index == len(text) - 1:
                trailing_space = True
            if previous_break:
                break_space = True
            previous_space, previous_break = True, False
        elif ch in "\n\x85\u2028\u2029":
            if index == 0:
                leading_break = True
            if index == len(text) - 1:
                trailing_break = True
            if previous_space:
                space_break = True
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        index += 1
        preceded_by_whitespace = ch in "\0 \t\r\n\x85\u2028\u2029"
        followed_by_whitespace = (index + 1 >= len(text)
                                  or text[index + 1] in "\0 \t\r\n\x85\u2028\u2029")
    allow_block_plain = allow_single = allow_block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        allow_block_plain = False
    if trailing_space:
        allow_block = False
    if break_space:
        allow_block_plain = allow_single = False
    if space_break or special:
        allow_block_plain = allow_single = allow_block = False
    if line_breaks:
        allow_block_plain = False
    if block_indicators:
        allow_block_plain = False
    return allow_block_plain, allow_single, allow_block


def _words(text: str, column: int, indent: int, quote: bool) -> str:
    """Write words separated by single spaces, breaking the line at a space once the column
    passed the best width (Emitter.write_plain / write_single_quoted)."""
    out = []
    pieces = re.split(r"( +)", text)
    for i, piece in enumerate(pieces):
        if not piece:
            continue
        if piece.startswith(" "):
            at_edge = quote and (i == 0 or i == len(pieces) - 1 or
                                 (i == len(pieces) - 2 and pieces[-1] == ""))
            if len(piece) == 1 and column > _BEST_WIDTH and not at_edge:
                out.append("\n" + " " * indent)
                column = indent
                continue
        if quote:
            piece = piece.replace("'", "''")
        out.append(piece)
        column += len(piece)
    return "".join(out)


def _scalar(text: str, column: int, indent: int) -> str:
    """A string value written after `key:` (column = position after the colon), without the
    final line break. drf-spectacular asks for the literal style `|` for multi-line strings."""
    plain, single, block = _analyze(text)
    if "\n" in text:
        if block:
            return _literal(text, indent)
        return ' "' + "".join(_double_escape(ch) for ch in text) + '"'
    if plain and not _resolves_to_non_str(text):
        return " " + _words(text, column + 1, indent, quote=False)
    if single:
        return " '" + _words(text, column + 2, indent, quote=True) + "'"
    return ' "' + "".join(_double_escape(ch) for ch in text) + '"'


_BREAKS = "\n\x85\u2028\u2029"


def _literal(text: str, indent: int) -> str:
    """Emitter.write_literal with determine_block_hints."""
    hints = ""
    if text[0] in " " + _BREAKS:
        hints += "2"
    if text[-1] not in _BREAKS:
        hints += "-"
    elif len(text) == 1 or text[-2] in _BREAKS:
        hints += "+"
    out = [" |" + hints + "\n"]
    breaks = True
    start = 0
    for end in range(len(text) + 1):
        ch = text[end] if end < len(text) else None
        if breaks:
            if ch is None or ch not in _BREAKS:
                out.extend(text[start:end])
                if ch is not None:
                    out.append(" " * indent)
                start = end
        elif ch is None or ch in _BREAKS:
            out.append(text[start:end])
            if ch is None:
                out.append("\n")
            start = end
        if ch is not None:
            breaks = ch in _BREAKS
    return "".join(out)[:-1]


_ESCAPES = {"\0": "0", "\x07": "a", "\x08": "b", "\x09": "t", "\x0a": "n", "\x0b": "v",
            "\x0c": "f", "\x0d": "r", "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N",
            "\xa0": "_", "\u2028": "L", "\u2029": "P"}


def _double_escape(ch: str) -> str:
    """Emitter.write_double_quoted (allow_unicode=True; no line folding)."""
    if ch not in '"\\\x85\u2028\u2029\ufeff' and (
            "\x20" <= ch <= "\x7e" or "\xa0" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"):
        return ch
    if ch in _ESCAPES:
        return "\\" + _ESCAPES[ch]
    if ch <= "\xff":
        return f"\\x{ord(ch):02X}"
    if ch <= "\uffff":
        return f"\\u{ord(ch):04X}"
    return f"\\U{ord(ch):08X}"


def yaml_dump(data: dict[str, Any], indent: int = 0) -> str:
    """Block-style YAML of a mapping whose leaves are strings / ErrorDetail."""
    lines: list[str] = []
    _mapping(data, indent, lines, first_prefix=None)
    if lines and re.match(r"[^\n]*[:-] \|2?\+\n", lines[-1]):
        lines.append("...\n")  # a keep-chomped literal last: the emitter closes the document
    return "".join(lines)


def _key(key: str) -> str:
    """A simple mapping key: plain when PyYAML may write it plain, else single-quoted."""
    plain, single, _ = _analyze(key)
    if plain and not _resolves_to_non_str(key):
        return key
    return "'" + key.replace("'", "''") + "'"


def _leaf(value: Any) -> str | None:
    """The text of a non-string scalar (SafeRepresenter), or None for a string."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    return None


def _mapping(data: dict[str, Any], indent: int, out: list[str], first_prefix: str | None) -> None:
    for n, (key, value) in enumerate(data.items()):
        prefix = first_prefix if (n == 0 and first_prefix is not None) else " " * indent
        head = f"{prefix}{_key(key)}:"
        if isinstance(value, ErrorDetail):
            value = {"string": value.string, "code": value.code}
        if isinstance(value, dict):
            if not value:
                out.append(head + " {}\n")
                continue
            out.append(head + "\n")
            _mapping(value, indent + 2, out, first_prefix=None)
        elif isinstance(value, list):
            if not value:
                out.append(head + " []\n")
                continue
            out.append(head + "\n")
            _sequence(value, indent, out)
        elif (leaf := _leaf(value)) is not None:
            out.append(f"{head} {leaf}\n")
        else:
            text = value if isinstance(value, str) else str(value)
            out.append(head + _scalar(text, len(head), indent + 2) + "\n")


def _sequence(items: list[Any], indent: int, out: list[str]) -> None:
    """A block sequence inside a mapping: PyYAML writes it indentless (`- ` at the key column)."""
    for item in items:
        if isinstance(item, ErrorDetail):
            item = {"string": item.string, "code": item.code}
        head = " " * indent + "-"
        if isinstance(item, dict) and item:
            _mapping(item, indent + 2, out, first_prefix=" " * indent + "- ")
        elif isinstance(item, (dict, list)):
            out.append(f"{head} {'{}' if isinstance(item, dict) else '[]'}\n")
        elif (leaf := _leaf(item)) is not None:
            out.append(f"{head} {leaf}\n")
        else:
            out.append(head + _scalar(str(item), len(head), indent + 2) + "\n")


# ---------------------------------------------------------------------------------------------
# Django CSRF (4.1): the cookie holds a 32-character secret, pages embed a masked 64-char token

CSRF_ALLOWED_CHARS = string.ascii_letters + string.digits
CSRF_SECRET_LENGTH = 32
CSRF_COOKIE_AGE = 31449600


def _random_string(length: int) -> str:
    return "".join(secrets.choice(CSRF_ALLOWED_CHARS) for _ in range(length))


def mask_secret(secret: str) -> str:
    """django.middleware.csrf._mask_cipher_secret."""
    mask = _random_string(CSRF_SECRET_LENGTH)
    chars = CSRF_ALLOWED_CHARS
    cipher = "".join(chars[(chars.index(x) + chars.index(y)) % len(chars)]
                     for x, y in zip(secret, mask))
    return mask + cipher


def unmask_token(token: str) -> str:
    """django.middleware.csrf._unmask_cipher_token."""
    mask, cipher = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    chars = CSRF_ALLOWED_CHARS
    return "".join(chars[chars.index(x) - chars.index(y)] for x, y in zip(cipher, mask))


def csrf_secret(cookie_header: str | None) -> str:
    """The secret to (re)send: the request's `csrftoken` cookie when well-formed (a 64-char
    masked value is unmasked, as Django 4.1 does), else a new one."""
    value = parse_cookies(cookie_header).get("csrftoken")
    if value and len(value) in (32, 64) and all(c in CSRF_ALLOWED_CHARS for c in value):
        return unmask_token(value) if len(value) == 64 else value
    return _random_string(CSRF_SECRET_LENGTH)


def parse_cookies(header: str | None) -> dict[str, str]:
    """django.http.cookie.parse_cookie (last value wins)."""
    cookies: dict[str, str] = {}
    for chunk in (header or "").split(";"):
        key, sep, value = chunk.partition("=")
        if not sep:
            key, value = "", chunk
        key, value = key.strip(), value.strip()
        if key or value:
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            cookies[key] = value
    return cookies


def csrf_set_cookie(secret: str, now: float) -> str:
    from email.utils import formatdate
    expires = formatdate(now + CSRF_COOKIE_AGE, usegmt=True)
    return (f"csrftoken={secret}; expires={expires}; Max-Age={CSRF_COOKIE_AGE}; Path=/; "
            "SameSite=Lax")


# ---------------------------------------------------------------------------------------------
# Pages

@functools.cache
def _template(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def schema_url(lang: str | None, version: str | None) -> str:
    """SpectacularSwaggerView._get_schema_url: the schema URL with `lang` / `version` carried
    over (set_query_parameters), HTML-escaped by the template."""
    params = [(k, v) for k, v in (("lang", lang), ("version", version)) if v is not None]
    url = "/api/schema/"
    if params:
        url += "?" + "&".join(f"{k}={quote_plus(v)}" for k, v in params)
    return html.escape(url, quote=True)


def swagger_page(csrf_token: str, lang: str | None = None, version: str | None = None) -> bytes:
    return (_template("swagger.html").replace("{{ csrf_token }}", csrf_token)
            .replace("{{ schema_url }}", schema_url(lang, version)).encode())


def redoc_page(lang: str | None = None, version: str | None = None) -> bytes:
    return _template("redoc.html").replace("{{ schema_url }}", schema_url(lang, version)).encode()


def status_page(status: int) -> bytes:
    """TemplateHTMLRenderer's exception page without a template: "406 Not Acceptable"."""
    from http import HTTPStatus
    return f"{status} {HTTPStatus(status).phrase.title()}".encode()
