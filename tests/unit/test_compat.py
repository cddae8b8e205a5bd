"""The DRF compat layer as pure functions: wire format, pagination links, negotiation,
validation."""
from __future__ import annotations

import math

import pytest

from samsyn.compat import negotiation, pagination, parsing, wire
from samsyn.compat.validation import CharField, FormData, JSONField, NestedField, Unique, validate
from samsyn.errors import InvalidInput

# --------------------------------------------------------------------- wire


def test_render_is_drf_json_renderer() -> None:
    data = {"f": 0.1, "big": 1e20, "neg0": -0.0, "one": 1.0, "exp": 1.5e-07, "s": "Straße 道路 🚗"}
    assert wire.render(data) == (
        '{"f":0.1,"big":1e+20,"neg0":-0.0,"one":1.0,"exp":1.5e-07,"s":"Straße 道路 🚗"}').encode()


def test_render_indent_matches_drf() -> None:
    assert wire.render({"id": 1, "a": {}}, indent=4) == b'{\n    "id": 1,\n    "a": {}\n}'


# --------------------------------------------------------------------- pagination


def test_links_are_sorted_and_reencoded() -> None:
    url = "http://maps.example.com:8443/api/v1/sources/?search=o&ordering=-name&page=2&page_size=3"
    links = pagination.page_links(url, 2, 10, 3)
    assert links.next == ("http://maps.example.com:8443/api/v1/sources/?ordering=-name&page=3"
                          "&page_size=3&search=o")
    assert links.previous == "http://maps.example.com:8443/api/v1/sources/?ordering=-name&page_size=3&search=o"


def test_previous_of_page_two_drops_page_and_keeps_blank_params() -> None:
    links = pagination.page_links("http://h/api/v1/sources/?page=2&search=&a=x%20y", 2, 30, 25)
    assert links.previous == "http://h/api/v1/sources/?a=x+y&search="
    assert links.next is None


@pytest.mark.parametrize("raw,size", [(None, 25), ("10", 10), ("101", 100), ("0", 25), ("-3", 25),
                                      ("abc", 25), ("1000", 100)])
def test_page_size(raw: str | None, size: int) -> None:
    assert pagination.page_size({} if raw is None else {"page_size": raw}) == size


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "", "1.0"])
def test_invalid_page_numbers(raw: str) -> None:
    with pytest.raises(pagination.InvalidPage):
        pagination.requested_page({"page": raw})


def test_last_page_and_empty_first_page() -> None:
    assert pagination.resolve_page("last", 30, 25) == 2
    assert pagination.resolve_page(1, 0, 25) == 1
    with pytest.raises(pagination.InvalidPage):
        pagination.resolve_page(2, 0, 25)


def test_like_pattern_escapes_like_characters() -> None:
    from samsyn.db.reads import like_pattern
    assert like_pattern("%_\\") == "%\\%\\_\\\\%"


def test_search_terms_and_ordering() -> None:
    assert pagination.search_terms({"search": '"rivers north",a'}) == ['"rivers', 'north"', "a"]
    assert pagination.ordering({"ordering": "bogus,-name"}, ("name",), ("name",)) == ("-name",)
    assert pagination.ordering({"ordering": "id"}, ("name",), ("name",)) == ("name",)


# --------------------------------------------------------------------- negotiation


@pytest.mark.parametrize("accept,renderer,indent", [
    (None, negotiation.JSON_RENDERER, None), ("*/*", negotiation.JSON_RENDERER, None),
    ("application/json, text/plain, */*", negotiation.JSON_RENDERER, None),
    ("application/json; indent=4", negotiation.JSON_RENDERER, 4),
    ("application/json; indent=0", negotiation.JSON_RENDERER, None),     # zero_as_none
    ("APPLICATION/JSON; Indent=2", negotiation.JSON_RENDERER, 2),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
     negotiation.BROWSABLE_API, None),
])
def test_negotiation(accept: str | None, renderer: negotiation.Renderer,
                     indent: int | None) -> None:
    got = negotiation.negotiate_api(accept, None)
    assert (got.renderer, got.indent()) == (renderer, indent)


def test_not_acceptable_and_unknown_format() -> None:
    with pytest.raises(negotiation.NotAcceptable):
        negotiation.negotiate_api("application/xml", None)
    with pytest.raises(negotiation.UnknownFormat):
        negotiation.negotiate_api(None, "xml")
    assert negotiation.negotiate_api(None, "").renderer is negotiation.JSON_RENDERER


# --------------------------------------------------------------------- parsing


@pytest.mark.parametrize("body,message", [
    (b"{bad json}", "JSON parse error - Expecting property name enclosed in double quotes: "
                    "line 1 column 2 (char 1)"),
    (b'{"x":NaN}', "JSON parse error - Out of range float values are not JSON compliant: 'NaN'"),
    (b"\xef\xbb\xbf{}", "JSON parse error - Unexpected UTF-8 BOM (decode using utf-8-sig): "
                         "line 1 column 1 (char 0)"),
])
def test_json_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(parsing.ParseError) as exc:
        parsing.parse_body(body, "application/json")
    assert exc.value.detail == message


def test_media_types() -> None:
    assert parsing.parse_body(b'{"a":"\xe9"}', "application/json; charset=latin-1") == {"a": "é"}
    assert parsing.parse_body(b"a=1&a=2", "application/x-www-form-urlencoded") == {"a": "2"}
    assert parsing.parse_body(b"", "application/json") == {}
    with pytest.raises(parsing.UnsupportedMediaType) as exc:
        parsing.parse_body(b"x", None)
    assert exc.value.detail == 'Unsupported media type "" in request.'


# --------------------------------------------------------------------- validation

FIELDS = (CharField("sid", max_length=5, unique_message="taken."), CharField("name", max_length=5),
          JSONField("attributes"))


def test_every_field_is_reported_in_order() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate(FIELDS, {"name": "   ", "attributes": None, "sid": "abcdef"})
    assert list(exc.value.errors) == ["sid", "name", "attributes"]
    assert exc.value.errors == {"sid": ["Ensure this field has no more than 5 characters."],
                                "name": ["This field may not be blank."],
                                "attributes": ["This field may not be null."]}


def test_coercion_trimming_and_unique() -> None:
    unique = Unique(lambda path, name, value: value == "dup")
    assert (validate(FIELDS, {"sid": 12, "name": " 1.5 "}, unique=unique)
            == {"sid": "12", "name": "1.5"})
    with pytest.raises(InvalidInput) as exc:
        validate(FIELDS, {"sid": " dup ", "name": True}, unique=unique)
    assert exc.value.errors == {"sid": ["taken."], "name": ["Not a valid string."]}


def test_non_dict_and_none() -> None:
    for data, text in ([[], "Invalid data. Expected a dictionary, but got list."],
                       ["x", "Invalid data. Expected a dictionary, but got str."]):
        with pytest.raises(InvalidInput) as exc:
            validate(FIELDS, data)
        assert exc.value.errors == {"non_field_errors": [text]}
    with pytest.raises(InvalidInput) as exc:
        validate(FIELDS, None)
    assert exc.value.errors == {"non_field_errors": ["No data provided"]}


def test_nested_errors_nest() -> None:
    fields = (NestedField("source", FIELDS), CharField("lid"))
    with pytest.raises(InvalidInput) as exc:
        validate(fields, {"source": 1, "lid": ""})
    assert exc.value.errors == {
        "source": {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]},
        "lid": ["This field may not be blank."]}


def test_form_json_fields_are_parsed() -> None:
    form = FormData(sid="a", name="b", attributes='{"a": [1, 2]}')
    assert validate(FIELDS, form)["attributes"] == {"a": [1, 2]}
    with pytest.raises(InvalidInput) as exc:
        validate(FIELDS, FormData(sid="a", name="b", attributes="{not json"))
    assert exc.value.errors == {"attributes": ["Value must be valid JSON."]}


def test_partial_skips_missing_fields() -> None:
    assert validate(FIELDS, {}, partial=True) == {}
    assert math.isfinite(1.0)


# --------------------------------------------------------------------- hostile input (issue 13)

NUL = "Null characters are not allowed."


def test_every_char_field_refuses_nul_and_surrogates_after_its_length_check() -> None:
    # DRF CharField: own validators, UniqueValidator, max/min length, null, surrogate, then
    # EmailField's validator; a NUL/surrogate value is never looked up (psycopg refuses it).
    looked_up: list[str] = []
    fields = (CharField("sid", max_length=3, unique_message="taken",
                        validators=(lambda v: "own" if v.startswith("!") else None,)),
              NestedField("source", (CharField("name"),)),
              CharField("email", trailing=(lambda v: "Enter a valid email address.",)))
    unique = Unique(lambda path, name, value: looked_up.append(value) or True)
    with pytest.raises(InvalidInput) as exc:
        validate(fields, {"sid": "!a\x00\ud800b", "source": {"name": "\udfff"},
                          "email": "x\x00"}, unique=unique)
    assert exc.value.errors == {
        "sid": ["own", "Ensure this field has no more than 3 characters.", NUL,
                "Surrogate characters are not allowed: U+D800."],
        "source": {"name": ["Surrogate characters are not allowed: U+DFFF."]},
        "email": [NUL, "Enter a valid email address."]}
    assert looked_up == []
    assert validate(fields[:1], {"sid": "ok"}, unique=Unique()) == {"sid": "ok"}


@pytest.mark.parametrize(("value", "errors"), [
    ({"a": "\x00"}, [NUL]),
    ({"a\x00": 1}, [NUL]),
    (["\\\x00"], [NUL]),                       # an escaped backslash, then a NUL
    (["\ud800", "\x00"], [NUL, "Surrogate characters are not allowed: U+D800."]),
    ([float("inf")], ["Value must be valid JSON."]),
    ({"n": float("nan")}, ["Value must be valid JSON."]),
])
def test_json_fields_refuse_what_jsonb_cannot_hold(value: object, errors: list[str]) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate((JSONField("attributes"),), {"attributes": value})
    assert exc.value.errors == {"attributes": errors}


def test_json_fields_keep_text_that_only_looks_like_a_nul() -> None:
    value = {"a": "\\u0000", "b": "\\\\u0000", "emoji": "\U0001F600"}
    assert validate((JSONField("attributes"),), {"attributes": value}) == {"attributes": value}


@pytest.mark.parametrize("text", ["NaN", "[1e999]", "-Infinity", "[" * 513 + "]" * 513])
def test_form_json_fields_are_strict(text: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate((JSONField("attributes"),), FormData(attributes=text))
    assert exc.value.errors == {"attributes": ["Value must be valid JSON."]}


def test_json_nesting_is_bounded() -> None:
    from samsyn.compat.validation import MAX_JSON_DEPTH, too_deep
    deepest: object = []
    for _ in range(MAX_JSON_DEPTH - 1):
        deepest = [deepest]
    assert not too_deep(deepest) and too_deep([deepest]) and too_deep({"a": [1, deepest]})
    assert not too_deep("x" * 600) and not too_deep(1)
    body = ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode()
    assert parsing.parse_body(body, "application/json") == deepest
    with pytest.raises(parsing.ParseError) as exc:
        parsing.parse_body(b"[" + body + b"]", "application/json")
    assert exc.value.detail == "JSON parse error - nesting too deep"


TOO_MANY_FIELDS = ("The number of GET/POST parameters exceeded "
                   "settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.")


def _multipart(fields: int, files: int = 0) -> bytes:
    parts = [f'--B\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv\r\n'
             for i in range(fields)]
    parts += [f'--B\r\nContent-Disposition: form-data; name="u{i}"; filename="a.txt"\r\n'
              "Content-Type: text/plain\r\n\r\nv\r\n" for i in range(files)]
    return ("".join(parts) + "--B--\r\n").encode()


def test_form_and_multipart_field_counts_are_djangos() -> None:
    multipart = "multipart/form-data; boundary=B"
    assert len(parsing.parse_body(_multipart(1000, 100), multipart)) == 1100
    for body, detail in [(_multipart(1001), TOO_MANY_FIELDS),
                         (_multipart(0, 101), "The number of files exceeded "
                                              "settings.DATA_UPLOAD_MAX_NUMBER_FILES.")]:
        with pytest.raises(parsing.ParseError) as exc:
            parsing.parse_body(body, multipart)
        assert exc.value.detail == detail
    form = "application/x-www-form-urlencoded"
    assert len(parsing.parse_body("&".join(["a=1"] * 1000).encode(), form)) == 1
    with pytest.raises(parsing.ParseError) as exc:
        parsing.parse_body("&".join(["a=1"] * 1001).encode(), form)
    assert exc.value.detail == TOO_MANY_FIELDS
    assert len(parsing.parse_body(_multipart(3), multipart, max_fields=3)) == 3
    with pytest.raises(parsing.ParseError):
        parsing.parse_body(_multipart(4), multipart, max_fields=3)


def test_multipart_header_text_is_utf8() -> None:
    body = ('--B\r\nContent-Disposition: form-data; name="é"\r\n\r\nv\r\n'
            '--B\r\nContent-Disposition: form-data; name="f"; filename="ü.txt"\r\n\r\nw\r\n'
            "--B\r\nContent-Disposition: form-data; name*=UTF-8''n%C3%A9\r\n\r\nx\r\n"
            "--B--\r\n").encode()
    data = parsing.parse_body(body, "multipart/form-data; boundary=B")
    assert data["é"] == "v" and data["f"].filename == "ü.txt" and data["né"] == "x"
