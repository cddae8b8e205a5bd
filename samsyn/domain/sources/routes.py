"""HTTP routes of /api/v1/sources/ (the legacy SourceList / SourceDetail views)."""
from __future__ import annotations

from samsyn.api.resource import Resource, detail_route, list_route
from samsyn.api.views import View
from samsyn.compat.validation import metadata
from samsyn.domain.sources import schemas, service

SOURCE_LIST = View(
    name="Source List",
    description="API endpoint for listing and creating Sources.\n\nGET: List all sources with "
                "pagination\nPOST: Create a new source",
    allow=("GET", "POST", "HEAD", "OPTIONS"),
    actions={"POST": metadata(schemas.SOURCE_FIELDS)},
    cached_list=True,
)
SOURCE_DETAIL = View(
    name="Source Detail",
    description="API endpoint for retrieving, updating, and deleting a Source.\n\nGET: Retrieve "
                "a source\nPUT/PATCH: Update a source\nDELETE: Delete a source",
    allow=("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
    actions={"PUT": metadata(schemas.SOURCE_FIELDS)},
    actions_need_object=True,
)

SOURCES = Resource(
    list_view=SOURCE_LIST,
    detail_view=SOURCE_DETAIL,
    page=service.list_sources,
    retrieve=service.get_source,
    create=service.create_source,
    update=lambda db, pk, read, partial: service.update_source(db, pk, read, partial=partial),
    delete=service.delete_source,
    exists=service.source_exists,
)

source_list = list_route("/api/v1/sources/", SOURCES)
source_detail = detail_route("/api/v1/sources/", SOURCES)
