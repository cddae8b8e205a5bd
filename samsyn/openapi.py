"""The legacy's OpenAPI document as Litestar derives it from samsyn's own handlers.

`/api/schema/` keeps serving the recorded bytes (samsyn.domain.docs); this module is what makes
`app.openapi_schema` (Litestar's own generation) produce the same document from the code, so
that tests/contract/test_openapi.py can diff the two: the contract is what the code declares.

How the pieces fit:

* `openapi_config()` is the app's `OpenAPIConfig`. Its `operation_id_creator` (`operation_id`)
  is called by Litestar once per (handler, HTTP method): it maps the Litestar path back to the
  Django URL (trailing slash, `{pk}` coerced to `{id}` as drf-spectacular's
  SCHEMA_COERCE_PATH_PK did) and returns drf-spectacular's id (`v1_sources_list`, ...) for the
  methods the legacy documented, and an `undeclared:` id for the others (HEAD, OPTIONS, TRACE,
  POST on a detail view...: every handler is one `@route(http_method=ALL_METHODS)`).
* `LegacyOperation` (every handler's `operation_class`, set by `document()` when app.py
  builds the app, so that no route module below imports this one) fills an operation from its
  declaration, looked up by that id: description (the View's docstring), tags, security (the
  View's `auth_required`), parameters (pagination/search/ordering of list views, the `id`
  path parameter), request bodies (one per parser of `parsing.PARSES`) and responses.
* The declarations (`_declarations()`) name, per Django path and method, the View and the field
  table of the legacy serializer; the component schemas are generated from the field tables
  (`validation.CharField(max_length=...)`, `JSONField`, `NestedField`, `ReadOnlyField`) and
  checked against the msgspec Structs that render the responses.
* `LegacyOpenAPI.to_schema()` is the one post-processing step: Litestar has no per-method
  `include_in_schema`, so the `undeclared:` operations are dropped there, the path keys are
  written as Django's URLs, the OpenAPI version is the legacy's 3.0.3 and the component
  schemas are added (Litestar's schema registry only knows Python types; samsyn's serializers
  are field tables).

Litestar insists on serving the document somewhere: `PRIVATE_PATH` with a guard that raises
NotFoundException, so every URL under it answers the app's Django 404 page, as any unknown
URL does (the legacy had no such route).
"""
from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar import Router
from litestar.exceptions import ImproperlyConfiguredException, NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.types.internal_types import PathParameterDefinition

from samsyn.api.views import View
from samsyn.compat import parsing
from samsyn.compat.validation import CharField, JSONField, NestedField, ReadOnlyField
from samsyn.domain.accounts import routes as accounts
from samsyn.domain.accounts import schemas as account_schemas
from samsyn.domain.docs import service as docs
from samsyn.domain.docs.routes import SCHEMA_ALLOW
from samsyn.domain.geometries import routes as geometries
from samsyn.domain.layers import routes as layers
from samsyn.domain.layers.schemas import LAYER_FIELDS, LayerOut
from samsyn.domain.projects import routes as projects
from samsyn.domain.projects.schemas import PROJECT_FIELDS, ProjectOut
from samsyn.domain.sources import routes as sources
from samsyn.domain.sources.schemas import SOURCE_FIELDS, SourceOut

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler


# drf-spectacular SPECTACULAR_SETTINGS of the legacy
TITLE = "ALL KNOWING GIS DASHBOARD API"
VERSION = "1.0.0"
DESCRIPTION = "Your API description"
OPENAPI_VERSION = "3.0.3"
SCHEMA_PATH_PREFIX = "/api/"           # stripped for operation ids; its next segment is the tag
SECURITY_SCHEME = "jwtAuth"            # simplejwt's JWTAuthentication as spectacular names it
PRIVATE_PATH = "/api/_litestar-schema"  # guarded: answers the Django 404 page
UNDECLARED = "undeclared:"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# ---------------------------------------------------------------------------------------------
# Component schemas from the field tables

@dataclass(frozen=True)
class Component:
    """One serializer of the legacy as drf-spectacular names it."""

    fields: tuple[Any, ...]
    description: str | None = None          # the serializer's docstring
    out: type | None = None                 # the msgspec Struct that renders it, if any
    write_only: frozenset[str] = frozenset()  # write_only=True fields (not in the tables)


def _trivial_variation(a: str, b: str) -> bool:
    """drf-spectacular's is_trivial_string_variation: a label that only restates the name."""
    def norm(s: str) -> str:
        return s.strip().lower().replace(" ", "_").replace("-", "_")
    return norm(a) == norm(b)


def _label(spec: Any) -> str:
    label = getattr(spec, "label", None)
    return label or ("ID" if spec.name == "id" else spec.name.replace("_", " ").capitalize())


def _pattern(validator: Callable[[str], str | None]) -> str | None:
    """The regex a validator enforces, as the OpenAPI `pattern` (Django's RegexValidator)."""
    if validator is account_schemas.username_error:
        # account_schemas._USERNAME is used with .match(): `[\w.@+-]+\Z`
        return "^" + account_schemas._USERNAME.pattern.replace("\\Z", "$")
    return None


class _Names:
    """Component names of field tables (a NestedField/ReadOnlyField child refers to a table)."""

    def __init__(self, components: Mapping[str, Component]) -> None:
        self._by_table = {id(c.fields): name for name, c in components.items()}

    def ref(self, fields: tuple[Any, ...]) -> dict[str, str]:
        try:
            return {"$ref": f"#/components/schemas/{self._by_table[id(fields)]}"}
        except KeyError:
            raise ImproperlyConfiguredException(
                f"nested field table without a component: {fields!r}") from None


def _property(spec: Any, component: Component, names: _Names) -> dict[str, Any]:
    if isinstance(spec, ReadOnlyField):
        if spec.child is not None:
            schema: dict[str, Any] = {"type": "array", "items": names.ref(spec.child)}
        elif spec.kind == "email":
            schema = {"type": "string", "format": "email"}
        else:
            schema = {"type": spec.kind}
        schema["readOnly"] = True
    elif isinstance(spec, CharField):
        schema = {"type": "string"}
        if spec.kind == "email":
            schema["format"] = "email"
        if spec.help_text is not None:
            schema["description"] = spec.help_text
        for validator in spec.validators:
            if (pattern := _pattern(validator)) is not None:
                schema["pattern"] = pattern
        if spec.max_length is not None:
            schema["maxLength"] = spec.max_length
        if spec.min_length is not None:
            schema["minLength"] = spec.min_length
        if spec.name in component.write_only:
            schema["writeOnly"] = True
    elif isinstance(spec, JSONField):
        schema = {"type": "object", "additionalProperties": {}}
    elif isinstance(spec, NestedField):
        return names.ref(spec.fields)
    else:  # pragma: no cover - the field tables are static
        raise TypeError(f"unknown field spec {spec!r}")
    if not _trivial_variation(_label(spec), spec.name):
        schema["title"] = _label(spec)
    return schema


def _required(spec: Any) -> bool:
    """In a response, read-only fields are always present; input fields when required."""
    return isinstance(spec, ReadOnlyField) or spec.required


def component_schema(component: Component, names: _Names, *, partial: bool) -> dict[str, Any]:
    """A serializer as drf-spectacular's component (`Patched<Name>` when partial: no required)."""
    schema: dict[str, Any] = {"type": "object"}
    if component.description:
        schema["description"] = component.description
    schema["properties"] = {spec.name: _property(spec, component, names)
                            for spec in component.fields}
    required = sorted(spec.name for spec in component.fields if _required(spec))
    if required and not partial:
        schema["required"] = required
    return schema


def _check_struct(name: str, component: Component) -> None:
    """The Struct that renders responses has the serializer's fields, in its order, with
    matching types; so the documented response is what the code encodes."""
    import msgspec
    if component.out is None:
        return
    info = msgspec.inspect.type_info(component.out)
    assert isinstance(info, msgspec.inspect.StructType)
    struct_fields = [(f.name, f.type) for f in info.fields]
    if [n for n, _ in struct_fields] != [spec.name for spec in component.fields]:
        raise ImproperlyConfiguredException(
            f"{name}: {component.out.__name__} fields {[n for n, _ in struct_fields]} differ "
            f"from the field table {[spec.name for spec in component.fields]}")
    for (field_name, ftype), spec in zip(struct_fields, component.fields, strict=True):
        if isinstance(spec, ReadOnlyField) and spec.child is not None:
            ok = isinstance(ftype, msgspec.inspect.ListType) and isinstance(
                ftype.item_type, msgspec.inspect.StructType)
        elif isinstance(spec, ReadOnlyField):
            ok = isinstance(ftype, {"integer": msgspec.inspect.IntType}.get(
                spec.kind, msgspec.inspect.StrType))
        elif isinstance(spec, CharField):
            ok = isinstance(ftype, msgspec.inspect.StrType)
        elif isinstance(spec, JSONField):
            ok = isinstance(ftype, msgspec.inspect.RawType | msgspec.inspect.AnyType)
        else:
            ok = isinstance(ftype, msgspec.inspect.StructType)
        if not ok:
            raise ImproperlyConfiguredException(
                f"{name}.{field_name}: {component.out.__name__} has {ftype!r} for {spec!r}")


# DRF 3.14 PageNumberPagination.get_paginated_response_schema (the envelope of
# samsyn.api.resource.page_body)
def paginated_schema(item: dict[str, str]) -> dict[str, Any]:
    return {"type": "object", "properties": {
        "count": {"type": "integer", "example": 123},
        "next": {"type": "string", "nullable": True, "format": "uri",
                 "example": "http://api.example.org/accounts/?page=4"},
        "previous": {"type": "string", "nullable": True, "format": "uri",
                     "example": "http://api.example.org/accounts/?page=2"},
        "results": {"type": "array", "items": item},
    }}


# ---------------------------------------------------------------------------------------------
# Operation declarations

@dataclass(frozen=True)
class Body:
    component: str
    required: bool = True


@dataclass(frozen=True)
class Reply:
    """One documented response: a component, a free-form object per media type, or none."""

    description: str = ""
    component: str | None = None
    free_form: tuple[str, ...] = ()


@dataclass(frozen=True)
class Declared:
    """One documented operation (path, method)."""

    action: str                                   # list, create, retrieve, update, ...
    view: View
    responses: Mapping[int, Reply]
    body: Body | None = None
    parameters: tuple[Parameter, ...] = ()
    description: str | None = None                # @extend_schema; else the View's docstring
    summary: str | None = None


def _query(name: str, kind: OpenAPIType, description: str | None = None, *,
           required: bool = False, enum: list[str] | None = None) -> Parameter:
    return Parameter(name=name, param_in="query", schema=Schema(type=kind, enum=enum),
                     description=description, required=required)


# DRF's OrderingFilter, PageNumberPagination (page_size_query_param) and SearchFilter, as
# samsyn.compat.pagination implements them; drf-spectacular sorts them by name.
LIST_PARAMETERS = (
    _query("ordering", OpenAPIType.STRING, "Which field to use when ordering the results."),
    _query("page", OpenAPIType.INTEGER, "A page number within the paginated result set."),
    _query("page_size", OpenAPIType.INTEGER, "Number of results to return per page."),
    _query("search", OpenAPIType.STRING, "A search term."),
)
ID_PARAMETER = Parameter(name="id", param_in="path", schema=Schema(type=OpenAPIType.INTEGER),
                         required=True)

# Django's settings.LANGUAGES (the `?lang=` enum drf-spectacular documents for /api/schema/;
# samsyn.domain.docs.service translates de and fr, the others answer English).
DJANGO_LANGUAGES = (
    "af", "ar", "ar-dz", "ast", "az", "be", "bg", "bn", "br", "bs", "ca", "cs", "cy", "da", "de",
    "dsb", "el", "en", "en-au", "en-gb", "eo", "es", "es-ar", "es-co", "es-mx", "es-ni", "es-ve",
    "et", "eu", "fa", "fi", "fr", "fy", "ga", "gd", "gl", "he", "hi", "hr", "hsb", "hu", "hy",
    "ia", "id", "ig", "io", "is", "it", "ja", "ka", "kab", "kk", "km", "kn", "ko", "ky", "lb",
    "lt", "lv", "mk", "ml", "mn", "mr", "ms", "my", "nb", "ne", "nl", "nn", "os", "pa", "pl", "pt",
    "pt-br", "ro", "ru", "sk", "sl", "sq", "sr", "sr-latn", "sv", "sw", "ta", "te", "tg", "th",
    "tk", "tr", "tt", "udm", "uk", "ur", "uz", "vi", "zh-hans", "zh-hant",
)


def _list_view(view: View, component: str) -> dict[str, Declared]:
    """DRF ListCreateAPIView (samsyn.api.resource.list_route)."""
    return {
        "GET": Declared("list", view, {200: Reply(component=f"Paginated{component}List")},
                        parameters=LIST_PARAMETERS),
        "POST": Declared("create", view, {201: Reply(component=component)}, body=Body(component)),
    }


def _detail_view(view: View, component: str) -> dict[str, Declared]:
    """DRF RetrieveUpdateDestroyAPIView (samsyn.api.resource.detail_route)."""
    ok = {200: Reply(component=component)}
    return {
        "GET": Declared("retrieve", view, ok, parameters=(ID_PARAMETER,)),
        "PUT": Declared("update", view, ok, body=Body(component), parameters=(ID_PARAMETER,)),
        "PATCH": Declared("partial_update", view, ok, body=Body(f"Patched{component}", False),
                          parameters=(ID_PARAMETER,)),
        "DELETE": Declared("destroy", view, {204: Reply("No response body")},
                           parameters=(ID_PARAMETER,)),
    }


def _object_view(view: View, component: str) -> dict[str, Declared]:
    """A RetrieveUpdateAPIView on the request's user (no pk in the URL)."""
    ok = {200: Reply(component=component)}
    return {
        "GET": Declared("retrieve", view, ok),
        "PUT": Declared("update", view, ok, body=Body(component)),
        "PATCH": Declared("partial_update", view, ok, body=Body(f"Patched{component}", False)),
    }


def _post_view(view: View, body: str | None, status: int, reply: str, *,
               body_required: bool = True) -> dict[str, Declared]:
    return {"POST": Declared("create", view, {status: Reply(component=reply)},
                             body=Body(body, body_required) if body else None)}


@dataclass(frozen=True)
class Declarations:
    paths: Mapping[str, Mapping[str, Declared]]   # Django path -> method -> operation
    components: Mapping[str, Component]
    by_id: Mapping[str, tuple[str, Declared]]     # operation id -> (Django path, operation)


@functools.cache
def _declarations() -> Declarations:
    """What the legacy documented, from samsyn's Views, field tables and Structs."""
    a = account_schemas
    components = {
        "Source": Component(SOURCE_FIELDS, out=SourceOut),
        "Layer": Component(LAYER_FIELDS, out=LayerOut),
        "Project": Component(PROJECT_FIELDS, out=ProjectOut),
        "User": Component(a.PROFILE_FIELDS, out=a.ProfileOut),
        "UserDetails": Component(a.USER_DETAILS_FIELDS, "User model w/o password",
                                 out=a.UserDetailsOut),
        "Login": Component(a.LOGIN_FIELDS),
        "PasswordChange": Component(a.PASSWORD_CHANGE_FIELDS),
        "PasswordReset": Component(a.PASSWORD_RESET_FIELDS,
                                   "Serializer for requesting a password reset e-mail."),
        "PasswordResetConfirm": Component(a.PASSWORD_RESET_CONFIRM_FIELDS,
                                          "Serializer for confirming a password reset attempt."),
        # dj-rest-auth declares these write_only (never rendered back; samsyn answers 204/"ok")
        "Register": Component(a.REGISTER_FIELDS, write_only=frozenset({"password1", "password2"})),
        "VerifyEmail": Component(a.VERIFY_EMAIL_FIELDS, write_only=frozenset({"key"})),
        "ResendEmailVerification": Component(a.RESEND_EMAIL_FIELDS),
        # Response-only serializers: login's {"key": ...} (a DRF authtoken key, 40 characters)
        # and the {"detail": ...} messages.
        "Token": Component((CharField("key", max_length=40),), "Serializer for Token model."),
        "RestAuthDetail": Component((ReadOnlyField("detail", kind="string"),)),
    }

    wfs = {"GET": Declared(
        "retrieve", geometries.GEOMETRY_API,
        {200: Reply("GeoJSON Feature Collection"), 400: Reply("Bad Request - Invalid parameters"),
         404: Reply("Not Found - Source does not exist")},
        parameters=(
            Parameter(name="bbox", param_in="query", schema=Schema(type=OpenAPIType.STRING),
                      description="Bounding box in format: minx,miny,maxx,maxy"),
            Parameter(name="limit", param_in="query", schema=Schema(type=OpenAPIType.INTEGER),
                      description="Maximum number of features to return"),
            Parameter(name="source_id", param_in="query", required=True,
                      schema=Schema(type=OpenAPIType.INTEGER),
                      description="ID of the source to retrieve geometries for"),
        ),
        # the legacy's @extend_schema on GeometryApi.get
        description="Retrieve geometries for a specific source as a GeoJSON feature collection",
        summary="Get geometries as GeoJSON",
    )}
    formats = sorted({r.format for r in docs.SCHEMA_RENDERERS})
    schema_view = _schema_view()
    schema = {"GET": Declared(
        "retrieve", schema_view,
        {200: Reply(free_form=tuple(r.media_type for r in docs.SCHEMA_RENDERERS))},
        parameters=(_query("format", OpenAPIType.STRING, enum=formats),
                    _query("lang", OpenAPIType.STRING, enum=list(DJANGO_LANGUAGES))),
    )}

    paths: dict[str, Mapping[str, Declared]] = {
        "/api/v1/sources/": _list_view(sources.SOURCE_LIST, "Source"),
        "/api/v1/sources/{id}/": _detail_view(sources.SOURCE_DETAIL, "Source"),
        "/api/v1/layers/": _list_view(layers.LAYER_LIST, "Layer"),
        "/api/v1/layers/{id}/": _detail_view(layers.LAYER_DETAIL, "Layer"),
        "/api/v1/projects/": _list_view(projects.PROJECT_LIST, "Project"),
        "/api/v1/projects/{id}/": _detail_view(projects.PROJECT_DETAIL, "Project"),
        "/api/v1/wfs/": wfs,
        "/api/v1/user-profile/": _object_view(accounts.USER_PROFILE, "User"),
        "/api/rest-auth/login/": _post_view(accounts.LOGIN, "Login", 200, "Token"),
        "/api/rest-auth/logout/": _post_view(accounts.LOGOUT, None, 200, "RestAuthDetail"),
        "/api/rest-auth/user/": _object_view(accounts.USER_DETAILS, "UserDetails"),
        "/api/rest-auth/password/change/": _post_view(accounts.PASSWORD_CHANGE, "PasswordChange",
                                                      200, "RestAuthDetail"),
        "/api/rest-auth/password/reset/": _post_view(accounts.PASSWORD_RESET, "PasswordReset",
                                                     200, "RestAuthDetail"),
        "/api/rest-auth/password/reset/confirm/": _post_view(
            accounts.PASSWORD_RESET_CONFIRM, "PasswordResetConfirm", 200, "RestAuthDetail"),
        # As documented by the legacy (dj-rest-auth's RegisterView schema): 201 Token. Both the
        # legacy and samsyn answer 204 without a body (no token: session login).
        "/api/rest-auth/registration/": _post_view(accounts.REGISTER, "Register", 201, "Token"),
        "/api/rest-auth/registration/verify-email/": _post_view(
            accounts.VERIFY_EMAIL, "VerifyEmail", 200, "RestAuthDetail"),
        # As documented (a CreateAPIView's 201); the view answers 200 {"detail": "ok"}.
        "/api/rest-auth/registration/resend-email/": _post_view(
            accounts.RESEND_EMAIL, "ResendEmailVerification", 201, "RestAuthDetail",
            body_required=False),
        "/api/schema/": schema,
    }
    for path, methods in paths.items():
        for method, declared in methods.items():
            if method not in declared.view.allow:
                raise ImproperlyConfiguredException(
                    f"{method} {path} is documented but its view allows {declared.view.allow}")
    for name, component in components.items():
        _check_struct(name, component)
    by_id = {spectacular_operation_id(path, declared.action): (path, declared)
             for path, methods in paths.items() for declared in methods.values()}
    if len(by_id) != sum(map(len, paths.values())):
        raise ImproperlyConfiguredException("operation ids are not unique")
    return Declarations(paths=paths, components=components, by_id=by_id)


def _schema_view() -> View:
    """SpectacularAPIView as a View (samsyn.domain.docs serves it with its own dispatch)."""
    return View(name=docs.SCHEMA_VIEW_NAME, description=docs.SCHEMA_VIEW_DESCRIPTION,
                allow=tuple(m.strip() for m in SCHEMA_ALLOW.split(",")))


def django_path(litestar_path: str) -> str:
    """Litestar's path format (no trailing slash, handler parameter names) as the Django URL
    drf-spectacular printed: APPEND_SLASH URLs, `pk` coerced to `id`."""
    path = re.sub(r"\{(\w+)(?::\w+)?\}",
                  lambda m: "{id}" if m.group(1) == "pk" else "{" + m.group(1) + "}",
                  litestar_path)
    return path if path.endswith("/") else path + "/"


def spectacular_operation_id(path: str, action: str) -> str:
    """drf-spectacular's default operation id: the path without the prefix and variables."""
    tokens = [t for t in path.removeprefix(SCHEMA_PATH_PREFIX).split("/")
              if t and not t.startswith("{")]
    return "_".join([*tokens, action]).replace("-", "_")


def operation_id(route_handler: BaseRouteHandler, http_method: str,
                 path_components: list[str | PathParameterDefinition]) -> str:
    """`OpenAPIConfig.operation_id_creator`: Litestar asks it once per handler and method."""
    litestar_path = "/" + "/".join(
        c if isinstance(c, str) else "{" + c.name + "}" for c in path_components)
    path = django_path(litestar_path)
    methods = _declarations().paths.get(path)
    if methods is None:
        raise ImproperlyConfiguredException(
            f"{route_handler.handler_name} ({path}) is in the OpenAPI schema but the legacy did "
            "not document it: declare it in samsyn.openapi or set include_in_schema=False")
    method = str(getattr(http_method, "value", http_method)).upper()
    declared = methods.get(method)
    if declared is None:
        return f"{UNDECLARED}{method} {path}"
    return spectacular_operation_id(path, declared.action)


def _ref(name: str) -> Reference:
    return Reference(ref=f"#/components/schemas/{name}")


def _free_form() -> Schema:
    return Schema(type=OpenAPIType.OBJECT, additional_properties={})


def _security(view: View) -> list[dict[str, list[str]]]:
    """simplejwt JWTAuthentication; `{}` (anonymous) unless the view needs a user."""
    return [{SECURITY_SCHEME: []}] if view.auth_required else [{SECURITY_SCHEME: []}, {}]


@dataclass
class LegacyOperation(Operation):
    """`operation_class` of the legacy's handlers: the operation as drf-spectacular wrote it,
    from the declaration behind its operation id (Litestar's own guesses replaced)."""

    def __post_init__(self) -> None:
        found = _declarations().by_id.get(self.operation_id or "")
        if found is None:
            return  # an undeclared method: LegacyOpenAPI.to_schema drops it
        path, declared = found
        self.tags = [path.removeprefix(SCHEMA_PATH_PREFIX).split("/", 1)[0]]
        self.summary = declared.summary
        self.description = declared.description or declared.view.description or None
        self.parameters = list(declared.parameters) or None
        self.request_body = None
        if declared.body is not None:
            self.request_body = RequestBody(
                content={media: OpenAPIMediaType(schema=_ref(declared.body.component))
                         for media in parsing.PARSES},
                required=declared.body.required)
        responses: dict[str, OpenAPIResponse] = {}
        for status, reply in declared.responses.items():
            content = None
            if reply.component is not None:
                content = {"application/json": OpenAPIMediaType(schema=_ref(reply.component))}
            elif reply.free_form:
                content = {media: OpenAPIMediaType(schema=_free_form())
                           for media in reply.free_form}
            responses[str(status)] = OpenAPIResponse(description=reply.description,
                                                     content=content)
        self.responses = responses
        self.security = _security(declared.view)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*map(_refs, node)) if node else set()
    return set()


def component_schemas(root: Any) -> dict[str, dict[str, Any]]:
    """The component schemas `root` refers to, transitively (as drf-spectacular emits them)."""
    declarations = _declarations()
    names = _Names(declarations.components)
    out: dict[str, dict[str, Any]] = {}
    pending = sorted(_refs(root))
    while pending:
        name = pending.pop()
        if name in out:
            continue
        if name.startswith("Paginated") and name.endswith("List"):
            item = name.removeprefix("Paginated").removesuffix("List")
            schema = paginated_schema({"$ref": f"#/components/schemas/{item}"})
        else:
            partial = name.startswith("Patched")
            base = name.removeprefix("Patched") if partial else name
            if base not in declarations.components:
                raise ImproperlyConfiguredException(f"no component {name!r} is declared")
            schema = component_schema(declarations.components[base], names, partial=partial)
        out[name] = schema
        pending.extend(sorted(_refs(schema) - set(out)))
    return dict(sorted(out.items()))


def _drop_false_defaults(operation: dict[str, Any]) -> None:
    """Litestar writes the spec's `false` defaults out; drf-spectacular left them implicit."""
    if operation.get("deprecated") is False:
        del operation["deprecated"]
    for parameter in operation.get("parameters", ()):
        for key in ("deprecated", "allowEmptyValue", "allowReserved"):
            if parameter.get(key) is False:
                del parameter[key]
    body = operation.get("requestBody")
    if body is not None and body.get("required") is False:
        del body["required"]


class LegacyOpenAPI(OpenAPI):
    """The OpenAPI object of the app; `to_schema()` writes it as drf-spectacular did."""

    def to_schema(self) -> dict[str, Any]:
        paths: dict[str, PathItem] = {}
        for litestar_path, item in sorted((self.paths or {}).items()):
            operations = {
                m: op for m in _METHODS
                if isinstance(op := getattr(item, m), Operation)
                and not (op.operation_id or "").startswith(UNDECLARED)}
            if operations:
                paths[django_path(litestar_path)] = PathItem(**operations)
        plain = OpenAPI(**{f.name: getattr(self, f.name) for f in dataclasses.fields(OpenAPI)})
        plain = dataclasses.replace(plain, paths=dict(sorted(paths.items())),
                                    openapi=OPENAPI_VERSION)
        document = plain.to_schema()
        for item in document["paths"].values():
            for operation in item.values():
                _drop_false_defaults(operation)
        if not document.get("servers"):
            document.pop("servers", None)
        components = document.setdefault("components", {})
        generated = components.get("schemas") or {}
        if generated:  # samsyn's handlers declare no Python types Litestar would register
            raise ImproperlyConfiguredException(
                f"unexpected Litestar component schemas: {sorted(generated)}")
        components["schemas"] = component_schemas(document["paths"])
        return document


def _private(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Litestar's own schema routes are not the legacy's: the Django 404 page, like any URL
    the legacy did not have."""
    raise NotFoundException


class LegacyOpenAPIConfig(OpenAPIConfig):
    def to_openapi_schema(self) -> OpenAPI:
        base = super().to_openapi_schema()
        return LegacyOpenAPI(**{f.name: getattr(base, f.name)
                                for f in dataclasses.fields(OpenAPI)})


def document(handlers: list[Any]) -> list[Any]:
    """The route handlers, each documented by its drf-spectacular declaration."""
    for handler in handlers:
        handler.operation_class = LegacyOperation
    return handlers


def openapi_config() -> OpenAPIConfig:
    """The app's `openapi_config`: Litestar's generation on, served nowhere public."""
    return LegacyOpenAPIConfig(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=[],
        components=Components(security_schemes={
            SECURITY_SCHEME: SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}),
        operation_id_creator=operation_id,
        render_plugins=[JsonRenderPlugin()],
        openapi_router=Router(PRIVATE_PATH, route_handlers=[], include_in_schema=False,
                              guards=[_private]),
    )
