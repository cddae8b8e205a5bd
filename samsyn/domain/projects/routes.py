"""HTTP routes of /api/v1/projects/ (the legacy ProjectList / ProjectDetail views)."""
from __future__ import annotations

from samsyn.api.resource import Resource, detail_route, list_route
from samsyn.api.views import View
from samsyn.compat.validation import metadata
from samsyn.domain.projects import schemas, service

PROJECT_LIST = View(
    name="Project List",
    description="API endpoint for listing and creating Projects.\n\nGET: List all projects with "
                "pagination\nPOST: Create a new project",
    allow=("GET", "POST", "HEAD", "OPTIONS"),
    actions={"POST": metadata(schemas.PROJECT_FIELDS)},
    cached_list=True,
)
PROJECT_DETAIL = View(
    name="Project Detail",
    description="API endpoint for retrieving, updating, and deleting a Project.\n\nGET: "
                "Retrieve a project\nPUT/PATCH: Update a project\nDELETE: Delete a project",
    allow=("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
    actions={"PUT": metadata(schemas.PROJECT_FIELDS)},
    actions_need_object=True,
)

PROJECTS = Resource(
    list_view=PROJECT_LIST,
    detail_view=PROJECT_DETAIL,
    page=service.list_projects,
    retrieve=service.get_project,
    create=service.create_project,
    update=lambda db, pk, read, partial: service.update_project(db, pk, read, partial=partial),
    delete=service.delete_project,
    exists=service.project_exists,
)

project_list = list_route("/api/v1/projects/", PROJECTS)
project_detail = detail_route("/api/v1/projects/", PROJECTS)
