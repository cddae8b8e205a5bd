"""Developer tool: derive the schema documents in `data/` from the recorded corpus.

    python -m samsyn.domain.docs.gen_data [CONTRACT_DIR]   (default: ./contract)

Needs PyYAML (development only; the served product reads the generated files).

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


def main(argv: list[str]) -> None:
    contract = Path(argv[1] if len(argv) > 1 else "contract")
    DATA.mkdir(exist_ok=True)
    for name, data in build(contract).items():
        (DATA / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv)
