"""HTTP routes of /api/v1/jobs/: samsyn's import and maintenance jobs, read only, for signed-in
users. Not a legacy endpoint (DRIFT.md): built as DRF's ListAPIView / RetrieveAPIView with the
legacy's settings (PageNumberPagination, SearchFilter, OrderingFilter, IsAuthenticated), and
left out of the recorded OpenAPI document."""
from __future__ import annotations

from samsyn.api.resource import Resource, detail_route, list_route
from samsyn.api.views import View
from samsyn.domain.jobs import service

JOB_LIST = View(
    name="Job List",
    description="API endpoint for listing import and maintenance jobs.\n\nGET: List the jobs, "
                "newest first, with pagination",
    allow=("GET", "HEAD", "OPTIONS"),
    auth_required=True,
)
JOB_DETAIL = View(
    name="Job Detail",
    description="API endpoint for retrieving a job: its status, progress, counts and error."
                "\n\nGET: Retrieve a job",
    allow=("GET", "HEAD", "OPTIONS"),
    auth_required=True,
)

JOBS = Resource(
    list_view=JOB_LIST,
    detail_view=JOB_DETAIL,
    page=service.list_jobs,
    retrieve=service.get_job,
    exists=service.job_exists,
)

job_list = list_route("/api/v1/jobs/", JOBS, in_schema=False)
job_detail = detail_route("/api/v1/jobs/", JOBS, in_schema=False)
