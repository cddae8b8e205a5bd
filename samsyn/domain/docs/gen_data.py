"""Developer tool: derive the schema documents in `data/` from the recorded corpus.

    python -m samsyn.domain.docs.gen_data [CONTRACT_DIR]   (default: ./contract)

Needs PyYAML (development only; the served product reads the generated files).

    python -m samsyn.domain.docs.gen_data --translations WHEEL_DIR

writes `data/translations.json` (+ `data/TRANSLATIONS-LICENSE`) from the message catalogues of
the releases the legacy ran (contract/NOTES.md: Django 4.1.13, djangorestframework 3.14.0):
    pip download --no-deps -d WHEEL_DIR django==4.1.13 djangorestframework==3.14.0
Only the schema's translatable strings (TRANSLATED_MSGIDS) are kept, for every locale directory
that translates one of them, read from the compiled `.mo` files with the stdlib gettext reader
(what Django reads at runtime). The method is validated first: the German and French
documents derived from the English one must be the recorded ones byte for byte.

Recorded: English YAML + JSON (contract/openapi.{yaml,json}), German JSON (golden doc-011,
parsed body + sha256 of the raw bytes) and French YAML (golden doc-013, full text). The two
unrecorded combinations are rendered from the parsed recorded documents with drf-spectacular's
renderers (OpenApiYamlRenderer: SafeDumper without aliases, `|` for multi-line strings,
sort_keys=False, allow_unicode; OpenApiJsonRenderer: json.dumps indent=4, ensure_ascii=False,
separators (',', ': ')). The method is validated first: it must reproduce every recorded
variant byte for byte (en YAML <-> en JSON, fr YAML, the de JSON sha256), else nothing is written.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")


def render_json(doc: Any) -> bytes:
    return json.dumps(doc, indent=4, ensure_ascii=False, separators=(",", ": ")).encode()


def render_yaml(doc: Any) -> bytes:
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def multiline_str(dumper: Any, data: str) -> Any:
        scalar = dumper.represent_str(data)
        scalar.style = "|" if "\n" in data else None
        return scalar

    Dumper.add_representer(str, multiline_str)
    return yaml.dump(doc, default_flow_style=False, sort_keys=False, allow_unicode=True,
                     Dumper=Dumper).encode()


def _golden(contract: Path, step: str) -> dict[str, Any]:
    for line in (contract / "golden" / "schema_docs.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["id"] == step:
            return rec["response"]
    raise SystemExit(f"{step} not in the golden file")


def build(contract: Path) -> dict[str, bytes]:
    import yaml

    en_yaml = (contract / "openapi.yaml").read_bytes()
    en_json = (contract / "openapi.json").read_bytes()
    en = json.loads(en_json)
    de_rec = _golden(contract, "doc-011")
    de = de_rec["body"]
    fr_yaml = _golden(contract, "doc-013")["body"].encode()
    fr = yaml.safe_load(fr_yaml)

    checks = {
        "en json from parsed en json": render_json(en) == en_json,
        "en yaml from parsed en json": render_yaml(en) == en_yaml,
        "en yaml parses to en json": yaml.safe_load(en_yaml) == en,
        "fr yaml from parsed fr yaml": render_yaml(fr) == fr_yaml,
        "de json sha256": hashlib.sha256(render_json(de)).hexdigest() == de_rec["raw_sha256"],
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise SystemExit(f"method not validated: {failed}")
    out = {
        "schema.en.yaml": en_yaml, "schema.en.json": en_json,
        "schema.de.yaml": render_yaml(de), "schema.de.json": render_json(de),
        "schema.fr.yaml": fr_yaml, "schema.fr.json": render_json(fr),
    }
    # Both formats of a language must describe the same document.
    for lang in ("en", "de", "fr"):
        assert yaml.safe_load(out[f"schema.{lang}.yaml"]) == json.loads(out[f"schema.{lang}.json"])

    swagger = (contract / "docs-pages" / "swagger.html").read_text()
    token_at = swagger.index('request.headers["X-CSRFTOKEN"] = "') + len(
        'request.headers["X-CSRFTOKEN"] = "')
    token_end = swagger.index('"', token_at)
    assert token_end - token_at == 64
    template = swagger[:token_at] + "{{ csrf_token }}" + swagger[token_end:]
    url_line = 'url: "/api/schema/",'
    assert template.count(url_line) == 1
    template = template.replace(url_line, 'url: "{{ schema_url }}",')
    out["swagger.html"] = template.encode()
    redoc = (contract / "docs-pages" / "redoc.html").read_text()
    spec = '<redoc spec-url="/api/schema/"></redoc>'
    assert redoc.count(spec) == 1
    out["redoc.html"] = redoc.replace(spec, '<redoc spec-url="{{ schema_url }}"></redoc>').encode()
    return out


# msgid -> the wheel member prefix of the catalogue that holds it (the apps' msgids are
# disjoint, so INSTALLED_APPS precedence does not matter for these).
TRANSLATED_MSGIDS = {
    "username": "django/contrib/auth/",
    "first name": "django/contrib/auth/",
    "last name": "django/contrib/auth/",
    "email address": "django/contrib/auth/",
    "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.":
        "django/contrib/auth/",
    "Key": "rest_framework/",
    "A page number within the paginated result set.": "rest_framework/",
    "Number of results to return per page.": "rest_framework/",
    "A search term.": "rest_framework/",
    "Which field to use when ordering the results.": "rest_framework/",
}
WHEELS = {"django/contrib/auth/": "Django-4.1.13-py3-none-any.whl",
          "rest_framework/": "djangorestframework-3.14.0-py3-none-any.whl"}
LICENSES = {"Django-4.1.13-py3-none-any.whl": "Django-4.1.13.dist-info/LICENSE",
            "djangorestframework-3.14.0-py3-none-any.whl":
                "djangorestframework-3.14.0.dist-info/LICENSE.md"}


def build_translations(wheels: Path) -> dict[str, bytes]:
    import gettext
    import io
    import re
    import zipfile

    from samsyn.domain.docs import service

    catalogue: dict[str, dict[str, str]] = {msgid: {} for msgid in TRANSLATED_MSGIDS}
    notices = []
    for prefix, wheel in WHEELS.items():
        with zipfile.ZipFile(wheels / wheel) as archive:
            for name in sorted(archive.namelist()):
                found = re.fullmatch(re.escape(prefix) + r"locale/([^/]+)/LC_MESSAGES/django\.mo",
                                     name)
                if not found:
                    continue
                messages = gettext.GNUTranslations(io.BytesIO(archive.read(name)))._catalog
                for msgid, home in TRANSLATED_MSGIDS.items():
                    if home == prefix and messages.get(msgid):
                        catalogue[msgid][found.group(1)] = messages[msgid]
            notices.append(f"{'=' * 78}\n{wheel} ({prefix}locale/*/LC_MESSAGES/django.mo)\n"
                           f"{'=' * 78}\n\n" + archive.read(LICENSES[wheel]).decode())
    data = json.dumps(catalogue, ensure_ascii=False, indent=1, sort_keys=True).encode() + b"\n"
    # Validate against the recorded translations before writing anything.
    english = json.loads(service.schema_document("en", "json"))
    for lang in ("de", "fr"):
        derived = service.translate_schema(english, service.translator(lang, json.loads(data)),
                                           TRANSLATED_MSGIDS)
        if render_json(derived) != service.schema_document(lang, "json"):
            raise SystemExit(f"method not validated: derived {lang} differs from the recorded")
    header = ("The translations in translations.json are taken from the message catalogues of\n"
              "the Django and Django REST framework releases below, under their licenses:\n\n")
    return {"translations.json": data,
            "TRANSLATIONS-LICENSE": (header + "\n\n".join(notices)).encode()}


def main(argv: list[str]) -> None:
    if len(argv) > 2 and argv[1] == "--translations":
        for name, data in build_translations(Path(argv[2])).items():
            (DATA / name).write_bytes(data)
            print(f"{name}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
        return
    contract = Path(argv[1] if len(argv) > 1 else "contract")
    DATA.mkdir(exist_ok=True)
    for name, data in build(contract).items():
        (DATA / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv)
