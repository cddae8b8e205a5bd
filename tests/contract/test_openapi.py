"""The contract is what the code declares: the OpenAPI document Litestar derives from samsyn's
handlers, Views, field tables and Structs (samsyn.openapi) against contract/openapi.json.

Compared: the paths and their methods; per operation the operation id, description, summary,
tags, security, parameters (name, in, required, schema, description), request bodies (media
types, required, resolved schemas) and responses (status codes, descriptions, media types,
resolved schemas); the component schemas by name and with every $ref resolved. No database:
the app is only built, and the document generated in memory.
"""
from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from litestar.exceptions import ImproperlyConfiguredException
from litestar.testing import TestClient

from samsyn import openapi
from samsyn.app import create_litestar
from samsyn.compat import pages
from samsyn.compat.validation import CharField, ReadOnlyField
from tests.conftest import REPO

CONTRACT = REPO / "contract" / "openapi.json"

# Differences the test knows of: (where) -> (samsyn's value, the contract's value). Each must
# still be there (so that a fix removes its entry) and nothing else may differ. None today.
KNOWN_DIFFERENCES: dict[str, tuple[Any, Any]] = {}


@pytest.fixture(scope="module")
def app() -> Any:
    return create_litestar()


@pytest.fixture(scope="module")
def derived(app: Any) -> dict[str, Any]:
    # Through JSON, as the document would be served.
    return json.loads(json.dumps(app.openapi_schema.to_schema()))


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    return json.loads(CONTRACT.read_text())


def resolve(node: Any, document: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`node` with every `#/components/schemas/...` reference replaced by its target."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.removeprefix("#/components/schemas/")
            if name in seen:
                return {"$recursive": name}
            target = document.get("components", {}).get("schemas", {}).get(name)
            if target is None:
                return {"$unresolved": ref}
            return resolve(target, document, (*seen, name))
        return {key: resolve(value, document, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, document, seen) for value in node]
    return node


def _parameters(operation: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    return {f"{p['in']}:{p['name']}": {"required": p.get("required", False),
                                        "schema": resolve(p.get("schema"), document),
                                        "description": p.get("description")}
            for p in operation.get("parameters", [])}


def _content(content: dict[str, Any] | None, document: dict[str, Any]) -> dict[str, Any] | None:
    if content is None:
        return None
    return {media: resolve(entry.get("schema"), document) for media, entry in content.items()}


def _request_body(operation: dict[str, Any], document: dict[str, Any]) -> Any:
    body = operation.get("requestBody")
    if body is None:
        return None
    return {"required": body.get("required", False),
            "content": _content(body.get("content"), document)}


def _responses(operation: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    return {status: {"description": response.get("description"),
                     "content": _content(response.get("content"), document)}
            for status, response in operation.get("responses", {}).items()}


def _operation_view(operation: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": operation.get("operationId"),
        "description": operation.get("description"),
        "summary": operation.get("summary"),
        "tags": operation.get("tags"),
        "security": operation.get("security"),
        "parameters": _parameters(operation, document),
        "requestBody": _request_body(operation, document),
        "responses": _responses(operation, document),
    }


def _diff_values(where: str, ours: Any, theirs: Any, out: dict[str, tuple[Any, Any]]) -> None:
    """Leaf-level differences, keyed by a readable location."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs), key=str):
            _diff_values(f"{where} {key}", ours.get(key, "<absent>"),
                         theirs.get(key, "<absent>"), out)
    elif ours != theirs:
        out[where] = (ours, theirs)


def document_diff(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    for key in ("openapi", "info"):
        _diff_values(key, ours.get(key), theirs.get(key), out)
    _diff_values("securitySchemes", ours["components"].get("securitySchemes"),
                 theirs["components"].get("securitySchemes"), out)
    paths = sorted(set(ours["paths"]) | set(theirs["paths"]))
    for path in paths:
        ours_item, theirs_item = ours["paths"].get(path), theirs["paths"].get(path)
        if ours_item is None or theirs_item is None:
            out[f"{path}"] = (sorted(ours_item or ()), sorted(theirs_item or ()))
            continue
        if sorted(ours_item) != sorted(theirs_item):
            out[f"{path} methods"] = (sorted(ours_item), sorted(theirs_item))
        for method in sorted(set(ours_item) & set(theirs_item)):
            _diff_values(f"{path} {method}", _operation_view(ours_item[method], ours),
                         _operation_view(theirs_item[method], theirs), out)
    ours_components = ours["components"].get("schemas", {})
    theirs_components = theirs["components"].get("schemas", {})
    if sorted(ours_components) != sorted(theirs_components):
        out["components"] = (sorted(ours_components), sorted(theirs_components))
    for name in sorted(set(ours_components) & set(theirs_components)):
        _diff_values(f"#/components/schemas/{name}", resolve(ours_components[name], ours),
                     resolve(theirs_components[name], theirs), out)
    return out


def test_derived_openapi_is_the_contract(derived: dict[str, Any],
                                         contract: dict[str, Any]) -> None:
    diff = document_diff(derived, contract)
    unexpected = {k: v for k, v in diff.items() if KNOWN_DIFFERENCES.get(k) != v}
    gone = sorted(set(KNOWN_DIFFERENCES) - set(diff))
    report = "\n".join(f"- {where}:\n    samsyn:   {json.dumps(v[0])[:600]}\n"
                       f"    contract: {json.dumps(v[1])[:600]}"
                       for where, v in unexpected.items())
    assert not unexpected, f"the derived OpenAPI differs from contract/openapi.json:\n{report}"
    assert not gone, f"fixed, remove from KNOWN_DIFFERENCES: {gone}"


def test_paths_and_methods(derived: dict[str, Any], contract: dict[str, Any]) -> None:
    """Spelled out on its own: HEAD, OPTIONS, TRACE, POST on detail views... never appear."""
    def methods(document: dict[str, Any]) -> dict[str, list[str]]:
        return {path: sorted(item) for path, item in document["paths"].items()}
    assert methods(derived) == methods(contract)


def test_components_keep_their_names(derived: dict[str, Any], contract: dict[str, Any]) -> None:
    """Unresolved too: the $refs name the same components."""
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []
    assert sorted(refs(derived)) == sorted(refs(contract))


def test_diff_catches_a_change(derived: dict[str, Any], contract: dict[str, Any]) -> None:
    """The comparison is not vacuous: a changed maxLength deep in a nested schema shows."""
    changed = json.loads(json.dumps(derived))
    changed["components"]["schemas"]["Source"]["properties"]["sid"]["maxLength"] = 51
    diff = document_diff(changed, contract)
    assert any("sid maxLength" in where and "PaginatedLayerList" in where for where in diff)
    assert any(where.startswith("/api/v1/projects/{id}/ get responses") for where in diff)


def test_private_schema_routes_answer_the_django_404(app: Any) -> None:
    """Litestar's own schema routes are no public URLs: the page any unknown URL gets."""
    private = openapi.PRIVATE_PATH
    with TestClient(app) as client:
        for path in (f"{private}/openapi.json", f"{private}/", private, f"{private}/swagger",
                     "/schema/openapi.json"):
            for method in ("GET", "POST", "OPTIONS"):
                response = client.request(method, path)
                assert response.status_code == 404, (method, path)
                assert response.content == pages.not_found_page(path), (method, path)


def test_field_tables_are_checked_against_the_structs() -> None:
    """A response Struct that disagrees with its field table is a configuration error."""
    class Out(msgspec.Struct):
        id: int
        name: int

    names = openapi._Names({})
    good = openapi.Component((ReadOnlyField("id"), CharField("name", max_length=5)))
    assert openapi.component_schema(good, names, partial=False)["required"] == ["id", "name"]
    assert "required" not in openapi.component_schema(good, names, partial=True)
    with pytest.raises(ImproperlyConfiguredException, match="name"):
        openapi._check_struct("X", openapi.Component(good.fields, out=Out))
