"""DRF serializer validation semantics: every field checked in declaration order, DRF messages.

msgspec stops at the first error while DRF reports every field, so validation walks a small
field table (the legacy serializer's fields, in the legacy order) and collects DRF's messages.
Uniqueness is checked through a callback so that this module never touches the database.

Mirrors DRF 3.14 `Serializer.to_internal_value` (fields in declaration order, every error
collected), `CharField.run_validation` / `to_internal_value` (allow_blank, trim_whitespace,
`MaxLengthValidator`, `ProhibitNullCharactersValidator`, `ProhibitSurrogateCharactersValidator`),
`JSONField.to_internal_value`, `EmailField` (Django's `EmailValidator`) and `UniqueValidator`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from samsyn.errors import InvalidInput

REQUIRED = "This field is required."
NULL = "This field may not be null."
BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
INVALID_JSON = "Value must be valid JSON."
NO_DATA = "No data provided"
MAX_LENGTH = "Ensure this field has no more than {n} characters."
MIN_LENGTH = "Ensure this field has at least {n} characters."
NOT_A_DICT = "Invalid data. Expected a dictionary, but got {type}."
NULL_CHARACTERS = "Null characters are not allowed."            # ProhibitNullCharactersValidator
SURROGATES = "Surrogate characters are not allowed: U+{code:X}."  # ...SurrogateCharactersValidator

_SURROGATE = re.compile("[\ud800-\udfff]")
# `\u0000` in json.dumps output that is an escape of its own (not `\\u0000`, an escaped
# backslash followed by the text "u0000").
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")

# Sentinel for "the client did not send this field".
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


class FilePart:
    """A multipart file upload (DRF rejects it for CharFields with 'Not a valid string.')."""

    def __init__(self, filename: str, content: bytes, content_type: str) -> None:
        self.filename = filename
        self.content = content
        self.content_type = content_type


class FormData(dict):
    """Parsed form/multipart data: DRF treats it as HTML input (JSON fields arrive as strings)."""


@dataclass(frozen=True)
class CharField:
    name: str
    max_length: int | None = None
    min_length: int | None = None
    required: bool = True
    allow_blank: bool = False
    trim: bool = True
    unique_message: str | None = None  # "<model> with this <field> already exists."
    validators: tuple[Callable[[str], str | None], ...] = ()
    label: str | None = None
    help_text: str | None = None
    kind: str = "string"  # "email" for EmailField (metadata type)
    # The message of `fail('invalid')` for a value that is no str/int/float: a subclass's own
    # 'invalid' message replaces CharField's (EmailField: "Enter a valid email address.").
    invalid_message: str = NOT_A_STRING
    # Validators a DRF CharField subclass appends after CharField's own (EmailField's
    # EmailValidator runs after the null/surrogate validators).
    trailing: tuple[Callable[[str], str | None], ...] = ()


@dataclass(frozen=True)
class JSONField:
    name: str
    required: bool = False


@dataclass(frozen=True)
class NestedField:
    name: str
    fields: tuple[Any, ...]
    required: bool = True


@dataclass
class Unique:
    """Asks the caller whether a value is already taken: (serializer path, field, value) -> bool."""

    taken: Callable[[str, str, str], bool] = field(default=lambda path, name, value: False)


def text_errors(text: str) -> list[str]:
    """The two validators every DRF CharField appends last: PostgreSQL can store neither a NUL
    nor a lone surrogate (psycopg refuses to send them), so such text never reaches a query."""
    errors: list[str] = []
    if "\x00" in text:
        errors.append(NULL_CHARACTERS)
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        errors.append(SURROGATES.format(code=ord(surrogate.group())))
    return errors


def unstorable(text: str) -> bool:
    """True for text PostgreSQL cannot hold (a NUL or a lone surrogate)."""
    return "\x00" in text or _SURROGATE.search(text) is not None


# Deepest JSON nesting accepted. Python's C json parser stops near its recursion limit (~950
# levels here), but values a little shallower than that passed the parser and then failed
# json.dumps inside the database driver, deeper in the stack (a 500): bodies are cut well
# below that, the same "nesting too deep" 400 as the parser's (DRIFT.md note).
MAX_JSON_DEPTH = 512


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when parsed JSON nests lists/dicts more than `limit` levels: one level at a time,
    no recursion (0.07 s for a 2.5 MB body of 600,000 small lists; parsing it took 0.26 s)."""
    level = [value] if type(value) in (dict, list) else []
    for _ in range(limit):
        if not level:
            return False
        level = [child for item in level
                 for child in (item.values() if type(item) is dict else item)
                 if type(child) is list or type(child) is dict]
    return bool(level)


def type_name(value: Any) -> str:
    """Python's type name as DRF prints it in 'Expected a dictionary, but got X.'."""
    return type(value).__name__


def _char(spec: CharField, value: Any, form: bool) -> tuple[Any, list[str]]:
    if value is None:
        return None, [NULL]
    # DRF checks blankness on str(value) before the type check.
    if value == "" or (spec.trim and not isinstance(value, FilePart) and str(value).strip() == ""):
        return ("", []) if spec.allow_blank else (None, [BLANK])
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, [spec.invalid_message]
    text = value if isinstance(value, str) else str(value)
    if spec.trim:
        text = text.strip()
    return text, []


def _char_validators(spec: CharField, text: str, unique: "Unique", path: str) -> list[str]:
    """DRF's validator order: the field's own validators, UniqueValidator, then what CharField
    appends (max/min length, null characters, surrogates), then a subclass's (EmailField);
    every one runs and all messages are kept."""
    errors: list[str] = []
    for validator in spec.validators:
        message = validator(text)
        if message:
            errors.append(message)
    bad_text = text_errors(text)
    # Text PostgreSQL cannot hold is never taken (and cannot be sent as a query parameter).
    if spec.unique_message and not bad_text and unique.taken(path, spec.name, text):
        errors.append(spec.unique_message)
    if spec.max_length is not None and len(text) > spec.max_length:
        errors.append(MAX_LENGTH.format(n=spec.max_length))
    if spec.min_length is not None and len(text) < spec.min_length:
        errors.append(MIN_LENGTH.format(n=spec.min_length))
    errors.extend(bad_text)
    for validator in spec.trailing:
        message = validator(text)
        if message:
            errors.append(message)
    return errors


def _strict_constant(name: str) -> Any:
    raise ValueError(f"Out of range float values are not JSON compliant: {name!r}")


def _json(value: Any, form: bool) -> tuple[Any, list[str]]:
    """DRF JSONField: form input is json.loads'ed (NaN/Infinity refused), JSON input must
    json.dumps with allow_nan=False (`1e999` parses to inf: "Value must be valid JSON.").
    A parsed form value must dump too (DRF let inf through to a 500), and a value holding a
    NUL or a lone surrogate anywhere (PostgreSQL's jsonb refuses both; the legacy answered
    500) gets CharField's messages (DRIFT.md, "Note — NUL, lone surrogates and non-finite
    numbers in JSON fields")."""
    if value is None:
        return None, [NULL]
    if form and isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_strict_constant)
        except (ValueError, RecursionError):
            return None, [INVALID_JSON]
        if too_deep(value):
            return None, [INVALID_JSON]
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None, [INVALID_JSON]
    errors = []
    if _NUL_ESCAPE.search(text):
        errors.append(NULL_CHARACTERS)
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        errors.append(SURROGATES.format(code=ord(surrogate.group())))
    return (None, errors) if errors else (value, [])


def validate(fields: tuple[Any, ...], data: Any, *, partial: bool = False,
             unique: Unique | None = None, path: str = "") -> dict[str, Any]:
    """Validate `data` against `fields` as a DRF Serializer would; returns validated data.

    Raises:
        InvalidInput: with DRF's error mapping, keys in field order.
    """
    if data is None:
        raise InvalidInput({"non_field_errors": [NO_DATA]})
    if not isinstance(data, Mapping):
        raise InvalidInput({"non_field_errors": [NOT_A_DICT.format(type=type_name(data))]})
    form = isinstance(data, FormData)
    unique = unique or Unique()
    validated: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for spec in fields:
        if isinstance(spec, ReadOnlyField):
            continue
        value = data.get(spec.name, MISSING)
        if value is MISSING:
            if spec.required and not partial:
                errors[spec.name] = [REQUIRED]
            continue
        if isinstance(spec, CharField):
            text, messages = _char(spec, value, form)
            if not messages and text != "":
                messages = _char_validators(spec, text, unique, path)
            if messages:
                errors[spec.name] = messages
            else:
                validated[spec.name] = text
        elif isinstance(spec, JSONField):
            parsed, messages = _json(value, form)
            if messages:
                errors[spec.name] = messages
            else:
                validated[spec.name] = parsed
        elif isinstance(spec, NestedField):
            if value is None:
                errors[spec.name] = [NULL]
                continue
            try:
                validated[spec.name] = validate(spec.fields, value, partial=partial, unique=unique,
                                                path=f"{path}{spec.name}.")
            except InvalidInput as exc:
                errors[spec.name] = exc.errors
        else:  # pragma: no cover - the field tables are static
            raise TypeError(f"unknown field spec {spec!r}")
    if errors:
        raise InvalidInput(errors)
    return validated


@dataclass(frozen=True)
class ReadOnlyField:
    """A field that is only rendered (`id`, a project's `layers`); input for it is ignored."""

    name: str
    kind: str = "integer"                 # DRF metadata type
    child: tuple[Any, ...] | None = None  # ListSerializer child fields (project layers)
    label: str | None = None


def _label(name: str) -> str:
    return "ID" if name == "id" else name.replace("_", " ").capitalize()


def field_metadata(spec: Any, *, required_override: bool | None = None) -> dict[str, Any]:
    """One field as DRF SimpleMetadata describes it."""
    if isinstance(spec, ReadOnlyField):
        meta: dict[str, Any] = {"type": spec.kind, "required": False, "read_only": True,
                                "label": spec.label or _label(spec.name)}
        if spec.child is not None:
            meta["child"] = {"type": "nested object", "required": False, "read_only": True,
                             "children": metadata(spec.child)}
        return meta
    if isinstance(spec, CharField):
        meta = {"type": "email" if spec.kind == "email" else "string", "required": spec.required,
                "read_only": False, "label": spec.label or _label(spec.name)}
        if spec.help_text is not None:
            meta["help_text"] = spec.help_text
        if spec.min_length is not None:
            meta["min_length"] = spec.min_length
        if spec.max_length is not None:
            meta["max_length"] = spec.max_length
        return meta
    if isinstance(spec, JSONField):
        return {"type": "field", "required": spec.required, "read_only": False,
                "label": _label(spec.name)}
    if isinstance(spec, NestedField):
        return {"type": "nested object", "required": spec.required, "read_only": False,
                "label": _label(spec.name), "children": metadata(spec.fields)}
    raise TypeError(f"unknown field spec {spec!r}")


def metadata(fields: tuple[Any, ...]) -> dict[str, Any]:
    """The `actions` entry of DRF's OPTIONS response for a serializer."""
    return {spec.name: field_metadata(spec) for spec in fields}
