"""Unit tests of the documentation endpoints' pure logic (samsyn.domain.docs.service)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samsyn.compat import negotiation
from samsyn.domain.docs import service as s

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "contract"


def _golden(step: str) -> dict:
    for line in (CONTRACT / "golden" / "schema_docs.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["id"] == step:
            return rec["response"]
    raise KeyError(step)


# --- negotiation ---------------------------------------------------------------------------

@pytest.mark.parametrize("accept, fmt, media_type", [
    (None, None, "application/vnd.oai.openapi"),
    ("*/*", None, "application/vnd.oai.openapi"),
    (None, "yaml", "application/vnd.oai.openapi"),
    (None, "json", "application/vnd.oai.openapi+json"),
    ("application/json", None, "application/json"),
    ("application/json", "json", "application/json"),
    ("application/vnd.oai.openapi+json", None, "application/vnd.oai.openapi+json"),
    ("application/yaml", None, "application/yaml"),
    ("Application/YAML", None, "application/yaml"),
    ("application/vnd.oai.openapi", None, "application/vnd.oai.openapi"),
    ("text/html, */*", None, "application/vnd.oai.openapi"),
    ("application/*", None, "application/vnd.oai.openapi"),
    # q ignored: renderer order
    ("application/json; q=0.9, application/yaml", None, "application/yaml"),
    ("application/yaml, application/json; indent=2", None, "application/json"),  # params first
    ("", "json", None),
])
def test_negotiate(accept, fmt, media_type):
    if media_type is None:
        with pytest.raises(negotiation.NotAcceptable):
            negotiation.negotiate(s.SCHEMA_RENDERERS, accept, fmt)
        return
    assert negotiation.negotiate(s.SCHEMA_RENDERERS, accept, fmt).renderer.media_type == media_type


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json-x"])
def test_not_acceptable_forces_yaml(accept):
    with pytest.raises(negotiation.NotAcceptable):
        negotiation.negotiate(s.SCHEMA_RENDERERS, accept, None)
    forced = negotiation.force_renderer(s.SCHEMA_RENDERERS, accept, None)
    assert forced.renderer is s.YAML
    assert forced.renderer.content_type == "application/vnd.oai.openapi; charset=utf-8"


def test_unknown_format():
    with pytest.raises(negotiation.UnknownFormat):
        negotiation.negotiate(s.SCHEMA_RENDERERS, None, "openapi")
    # ?format=json with an Accept only YAML satisfies: filtered renderers -> 406
    with pytest.raises(negotiation.NotAcceptable):
        negotiation.negotiate(s.SCHEMA_RENDERERS, "application/yaml", "json")
    # empty = no format
    assert negotiation.negotiate(s.SCHEMA_RENDERERS, None, "").renderer is s.YAML


@pytest.mark.parametrize("accept, indent", [
    ("application/json", 4), ("application/json; indent=2", 2), ("application/json; indent=0", 4),
    ("application/json; indent=12", 8), ("application/json; indent=x", 4), ("*/*; indent=1", 1),
])
def test_json_indent(accept, indent):
    negotiated = negotiation.negotiate(s.SCHEMA_RENDERERS, accept, "json")
    assert negotiated.indent(s.SCHEMA_JSON_INDENT) == indent


def test_swagger_negotiation():
    assert negotiation.negotiate((s.HTML,), None, None).renderer is s.HTML
    with pytest.raises(negotiation.NotAcceptable):
        negotiation.negotiate((s.HTML,), "application/json", None)
    with pytest.raises(negotiation.UnknownFormat):
        negotiation.negotiate((s.HTML,), None, "json")
    assert s.status_page(406) == b"406 Not Acceptable"
    assert s.status_page(405) == b"405 Method Not Allowed"


# --- documents -------------------------------------------------------------------------------

def test_english_documents_are_the_recorded_bytes():
    assert s.schema_document("en", "yaml") == (CONTRACT / "openapi.yaml").read_bytes()
    assert s.schema_document("en", "json") == (CONTRACT / "openapi.json").read_bytes()


def test_recorded_translations():
    de = _golden("doc-011")
    assert hashlib.sha256(s.schema_document("de", "json")).hexdigest() == de["raw_sha256"]
    assert json.loads(s.schema_document("de", "json")) == de["body"]
    assert s.schema_document("fr", "yaml").decode() == _golden("doc-013")["body"]


def test_render_json_reproduces_the_recorded_json():
    doc = json.loads((CONTRACT / "openapi.json").read_bytes())
    assert s.render_json(doc) == (CONTRACT / "openapi.json").read_bytes()


def test_derived_translations_match_their_other_format():
    import yaml
    for lang in ("en", "de", "fr"):
        assert yaml.safe_load(s.schema_document(lang, "yaml")) == json.loads(
            s.schema_document(lang, "json"))
    de = json.loads(s.schema_document("de", "json"))
    assert de["components"]["schemas"]["User"]["properties"]["email"]["title"] == "E-Mail-Adresse"


def test_generator_reproduces_the_data_files():
    import yaml  # noqa: F401  (the generator needs PyYAML)

    from samsyn.domain.docs import gen_data
    for name, data in gen_data.build(CONTRACT).items():
        assert (gen_data.DATA / name).read_bytes() == data, name


@pytest.mark.parametrize("lang, expected", [
    (None, "en"), ("", "en"), ("de", "de"), ("DE", "de"), ("de-at", "de"), ("de_AT", "de"),
    ("fr", "fr"), ("fr-ca", "fr"), ("xx", "en"), ("en", "en"), ("en-us", "en"), ("d", "en"),
    ("C", "en"), ("es", "i18n:es"), ("pt-br", "i18n:pt_BR"), ("pt_BR", "i18n:pt_BR"),
    ("pt", "i18n:pt"),
    ("zh-hans", "i18n:zh_Hans"), ("ja", "i18n:ja"), ("es-ar", "i18n:es_AR+es"),
    ("de;q=0.9", "en"), ("de, fr;q=0.8", "en"),   # not an Accept-Language parser
])
def test_schema_language(lang, expected):
    assert s.schema_language(lang) == expected


# Recorded facts of the catalogues (Django 4.1.13 auth, DRF 3.14.0) for a sample of languages:
# (lang, username title, Token.key title, start of the username help text)
SAMPLE = [
    ("es", "Nombre de usuario", "Clave", "Requerido. 150"),
    ("it", "Nome utente", None, "Obbligatorio. 150"),   # DRF it: no "Key"
    ("pt-br", "Usuário", "Chave", "Obrigatório. 150"),
    ("zh-hans", "用户名", "键", "必填；长度为150"),
    ("ja", "ユーザー名", "キー", "この項目は必須です。"),
    ("ru", "Имя пользователя", "Ключ", "Обязательное поле."),
    ("es-ar", "Nombre de usuario", "Clave", "Obligatorio. Longitud"),   # es_AR, Key from es
]


@pytest.mark.parametrize("lang, username, key, help_start", SAMPLE)
def test_translated_documents(lang, username, key, help_start):
    import yaml
    code = s.schema_language(lang)
    doc = json.loads(s.schema_document(code, "json"))
    user = doc["components"]["schemas"]["User"]["properties"]
    assert user["username"]["title"] == username
    assert list(user["username"])[:3] == ["type", "title", "description"]
    assert user["username"]["description"].startswith(help_start)
    assert doc["components"]["schemas"]["Token"]["properties"]["key"].get("title") == key
    assert yaml.safe_load(s.schema_document(code, "yaml")) == doc   # both formats agree
    assert s.render_json(doc) == s.schema_document(code, "json")


def test_translation_rules_follow_drf_spectacular():
    """title = capfirst(gettext(verbose_name)) unless a trivial variation of the field name;
    every string that is no catalogue msgid stays as it is."""
    english = json.loads(s.schema_document("en", "json"))
    same = s.translate_schema(english, lambda m: m)
    assert same == english                      # English: no title for username / key
    trivial = s.translate_schema(english, lambda m: {"email address": " EMAIL"}.get(m, m))
    assert "title" not in trivial["components"]["schemas"]["User"]["properties"]["email"]
    lower = s.translate_schema(english, lambda m: {"username": "nom"}.get(m, m))
    assert lower["components"]["schemas"]["User"]["properties"]["username"]["title"] == "Nom"
    shouted = s.translate_schema(english, lambda m: m.upper())
    flat = json.dumps(shouted)
    for msgid in (m for m in s._catalogue() if m.endswith(".")):   # the description texts
        assert json.dumps(msgid)[1:-1] not in flat
        if json.dumps(msgid)[1:-1] in json.dumps(english):
            assert json.dumps(msgid.upper())[1:-1] in flat
    assert "API endpoint for listing and creating Sources." in flat   # docstrings untouched


def test_derived_de_and_fr_are_the_recorded_documents():
    english = json.loads(s.schema_document("en", "json"))
    for lang in ("de", "fr"):
        derived = s.translate_schema(english, s.translator(lang))
        assert s.render_json(derived) == s.schema_document(lang, "json")
        assert s.yaml_dump(derived).encode() == s.schema_document(lang, "yaml")


def test_yaml_emitter_writes_the_recorded_documents():
    for lang in ("en", "de", "fr"):
        doc = json.loads(s.schema_document(lang, "json"))
        assert s.yaml_dump(doc).encode() == s.schema_document(lang, "yaml")


@pytest.mark.parametrize("language, locale", [
    ("en-us", "en_US"), ("pt-br", "pt_BR"), ("zh-hans", "zh_Hans"), ("sr-latn", "sr_Latn"),
    ("de", "de"), ("DE", "de"), ("de_AT", "de_AT"), ("EN-us", "en_US"), ("en-us-x", "en_US-x"),
])
def test_to_locale_is_djangos(language, locale):
    assert s.to_locale(language) == locale


def test_selection_is_a_bounded_key():
    """Any spelling that picks the same catalogues shares one cached document."""
    assert len({s.schema_language(x) for x in ("es", "ES", "es-es", "es_ES", "es-zz")}) == 1
    assert s.schema_language("pt") != s.schema_language("pt-br")


def test_catalogue_license_is_kept():
    notice = (s.DATA / "TRANSLATIONS-LICENSE").read_text()
    assert "Django Software Foundation" in notice and "Encode OSS" in notice


def test_schema_body_variants():
    yaml_n = negotiation.negotiate(s.SCHEMA_RENDERERS, None, None)
    json_n = negotiation.negotiate(s.SCHEMA_RENDERERS, None, "json")
    assert s.schema_body("fr", yaml_n) == s.schema_document("fr", "yaml")
    assert s.schema_body("de", json_n) == s.schema_document("de", "json")
    two = s.schema_body("en", negotiation.negotiate(s.SCHEMA_RENDERERS,
                                                    "application/json; indent=2", None))
    assert two.startswith(b'{\n  "openapi": "3.0.3",')
    assert json.loads(two) == json.loads(s.schema_document("en", "json"))


def test_schema_version_parameter():
    yaml_n = negotiation.negotiate(s.SCHEMA_RENDERERS, None, None)
    json_n = negotiation.negotiate(s.SCHEMA_RENDERERS, None, "json")
    body = s.schema_body("en", yaml_n, "2")
    assert b"\n  version: 1.0.0 (2)\n" in body
    assert len(body) == len(s.schema_document("en", "yaml")) + 4
    assert json.loads(s.schema_body("en", json_n, "v2"))["info"]["version"] == "1.0.0 (v2)"
    assert s.schema_filename(s.YAML, "2") == "ALL KNOWING GIS DASHBOARD API (2).yaml"
    assert s.schema_filename(s.JSON) == "ALL KNOWING GIS DASHBOARD API.json"


# --- YAML errors -------------------------------------------------------------------------

def test_yaml_errors_as_recorded():
    yaml_n = negotiation.Negotiated(s.YAML, s.YAML.media_type)
    assert s.render_error({"detail": s.ErrorDetail('Method "POST" not allowed.',
                                                   "method_not_allowed")}, yaml_n) == \
        b'detail:\n  string: Method "POST" not allowed.\n  code: method_not_allowed\n'
    assert s.render_error({"detail": s.ErrorDetail("Not found.", "not_found")}, yaml_n) == \
        b"detail:\n  string: Not found.\n  code: not_found\n"


def test_invalid_token_yaml_is_jwt075():
    body = {"detail": "Given token not valid for any token type", "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access",
                          "message": "Token is invalid or expired"}]}
    out = s.render_error(s.error_details(body, s.auth_error_code(body)),
                         negotiation.Negotiated(s.YAML, s.YAML.media_type)).decode()
    for line in (CONTRACT / "golden" / "auth_jwt.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["id"] == "jwt-075":
            assert out == rec["response"]["body"]
            break
    else:
        pytest.fail("jwt-075 not found")


def test_auth_error_codes_and_json():
    assert s.auth_error_code({"detail": "User is inactive", "code": "user_inactive"}) == \
        "authentication_failed"
    data = s.error_details({"detail": "User is inactive", "code": "user_inactive"},
                           "authentication_failed")
    out = s.render_error(data, negotiation.negotiate(s.SCHEMA_RENDERERS, "application/json", None))
    assert out == b'{\n    "detail": "User is inactive",\n    "code": "user_inactive"\n}'


YAML_STRINGS = [
    "Not found.", "yes", "No", "1.0", "12", "0x1F", "~", "null", "", "=", "<<", "2024-01-01",
    "a: b", "a:b", "a #b", "a#b", "#x", "- x", "-x", "? x", ":x", "x:", " lead", "trail ",
    "it's", "'quoted'", '"dq"', "tab\there", "ctrl\x01", "Straße 道路 🚗", "---x", "...",
    "@x", "`x", "%x", "!x", "&x", "*x", "|x", ">x", "[x]", "{x}", "x, y", "1.0.0 (2)",
    'Method "' + "VERYLONGMETHODTOKEN" * 5 + '" not allowed.',
    "word " * 40 + "end", "emoji 🚗 \ufeff", "nbsp\xa0x", "back\\slash \"q\" \x85",
    "it's " * 30 + "end", "a  b" * 30, "x" * 100,
    "a\nb", "a\nb\n", "line one\n\nline three", "a\n\n", " x\ny", "x \ny", "x\n y",
    "'q' " * 30, "a: b " * 30, "yes " * 30 + "x", " lead and a long tail" * 5,
]


@pytest.mark.parametrize("text", YAML_STRINGS)
def test_yaml_scalars_match_pyyaml(text):
    from samsyn.domain.docs import gen_data
    data = {"detail": s.ErrorDetail(text, "c"), "top": text,
            "messages": [{"k": s.ErrorDetail(text, "c"), "v": text}]}
    plain = {"detail": {"string": text, "code": "c"}, "top": text,
             "messages": [{"k": {"string": text, "code": "c"}, "v": text}]}
    expected = gen_data.render_yaml(plain).decode()
    assert s.yaml_dump(data) == expected


# --- CSRF and pages ------------------------------------------------------------------------

def test_csrf_mask_roundtrip():
    secret = s.csrf_secret(None)
    assert len(secret) == 32 and secret.isalnum()
    token = s.mask_secret(secret)
    assert len(token) == 64 and token != s.mask_secret(secret)
    assert s.unmask_token(token) == secret
    assert s.csrf_secret(f"a=1; csrftoken={secret}") == secret
    assert s.csrf_secret(f"csrftoken={token}") == secret
    assert s.csrf_secret("csrftoken=bad!") != "bad!"
    cookie = s.csrf_set_cookie(secret, 0)
    assert cookie == (f"csrftoken={secret}; expires=Thu, 31 Dec 1970 00:00:00 GMT; "
                      "Max-Age=31449600; Path=/; SameSite=Lax")


def test_swagger_page_is_the_recorded_page():
    recorded = (CONTRACT / "docs-pages" / "swagger.html").read_bytes()
    marker = b'request.headers["X-CSRFTOKEN"] = "'
    at = recorded.index(marker) + len(marker)
    token = recorded[at:at + 64].decode()
    assert s.swagger_page(token) == recorded
    assert b'url: "/api/schema/?lang=de&amp;version=2",' in s.swagger_page(token, "de", "2")
    assert s.redoc_page() == (CONTRACT / "docs-pages" / "redoc.html").read_bytes()
    assert b'spec-url="/api/schema/?lang=fr"' in s.redoc_page("fr")


def test_metadata():
    meta = s.schema_metadata()
    assert meta["name"] == "Spectacular Api"
    assert meta["renders"] == ["application/vnd.oai.openapi", "application/yaml",
                               "application/vnd.oai.openapi+json", "application/json"]
    assert "actions" not in meta


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="abcdeFGHzZ-_xX@.", max_size=14)
       | st.from_regex(r"[a-zA-Z]{2,3}(-[a-zA-Z]{2,8}){0,3}", fullmatch=True))
def test_to_locale_against_django(language):
    from django.utils.translation import to_locale as django_to_locale
    assert s.to_locale(language) == django_to_locale(language)
