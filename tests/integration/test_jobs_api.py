"""GET /api/v1/jobs/ and /api/v1/jobs/{id}/: samsyn's jobs, read only, in the DRF style of the
legacy's other views (IsAuthenticated, PageNumberPagination, SearchFilter, OrderingFilter)."""
from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import psycopg
import pytest

from samsyn.contract_hooks import FIXTURES
from samsyn.jobs import runner, service
from samsyn.settings import DEV_SECRET_KEY
from tests.conftest import Server

DATA = Path(__file__).resolve().parents[1] / "data" / "testdata"
FIELDS = ["id", "kind", "status", "args", "progress", "total", "result", "error", "created",
          "started", "finished", "updated", "worker", "attempts"]
DRF_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


@pytest.fixture(scope="module")
def api(new_database: Callable[..., str]) -> Iterator[tuple[Server, str, list[int]]]:
    """A server on a database holding three jobs: a successful import, a failed one, and one
    still accepted; (server, a JWT of a user, job ids oldest first)."""
    from samsyn.db.migrate import upgrade_head
    url = new_database("jobs_api")
    upgrade_head(url)
    ids = [service.create_job("import_csv", {"path": str(DATA / "missing.csv")},
                              database_url=url)[0]]
    with pytest.raises(Exception):
        runner.run_inline(ids[0], database_url=url)
    ids.append(service.create_job(
        "import_shapefile", {"path": str(DATA / "pyshp-2.3.1/point.shp"), "sid": "pts",
                             "name": "points"}, database_url=url)[0])
    runner.run_inline(ids[1], database_url=url)
    ids.append(service.create_job("update_source_stats", {"source": "all"},
                                  database_url=url)[0])
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        user = FIXTURES["create_user"](conn, {"username": "ops", "password": "Str0ng-Pass-1"})
    now = int(time.time())
    token = jwt.encode({"token_type": "access", "exp": now + 3600, "iat": now,
                        "jti": uuid.uuid4().hex, "user_id": user["id"]}, DEV_SECRET_KEY,
                       algorithm="HS256")
    srv = Server(url)
    try:
        yield srv, token, ids
    finally:
        srv.stop()


def get(srv: Server, path: str, token: str | None = None, method: str = "GET",
        ) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(srv.base_url + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def test_signed_in_users_only_as_every_authenticated_view(api) -> None:
    srv, _, ids = api
    for path in ("/api/v1/jobs/", f"/api/v1/jobs/{ids[0]}/"):
        status, headers, body = get(srv, path)
        profile = get(srv, "/api/v1/user-profile/")
        assert (status, body) == (profile[0], profile[2]) == (
            401, b'{"detail":"Authentication credentials were not provided."}')
        assert headers.get("www-authenticate") == profile[1].get("www-authenticate")
        assert get(srv, path, "not-a-token")[0] == 401


def test_list_newest_first_with_the_drf_page_envelope(api) -> None:
    srv, token, ids = api
    status, _, body = get(srv, "/api/v1/jobs/", token)
    assert status == 200
    page = json.loads(body)
    assert list(page) == ["count", "next", "previous", "results"]
    assert page["count"] == 3 and page["next"] is None and page["previous"] is None
    assert [j["id"] for j in page["results"]] == ids[::-1]
    assert [list(j) for j in page["results"]] == [FIELDS] * 3
    status, _, body = get(srv, "/api/v1/jobs/?page_size=1&page=2", token)
    page = json.loads(body)
    assert [j["id"] for j in page["results"]] == [ids[1]]
    assert page["next"] == f"{srv.base_url}/api/v1/jobs/?page=3&page_size=1"
    assert page["previous"] == f"{srv.base_url}/api/v1/jobs/?page_size=1"
    assert get(srv, "/api/v1/jobs/?page=9", token)[2] == b'{"detail":"Invalid page."}'
    ordered = json.loads(get(srv, "/api/v1/jobs/?ordering=id", token)[2])["results"]
    assert [j["id"] for j in ordered] == ids
    failed = json.loads(get(srv, "/api/v1/jobs/?search=FAILED", token)[2])
    assert [j["id"] for j in failed["results"]] == [ids[0]]


def test_detail_of_a_finished_import(api) -> None:
    srv, token, ids = api
    status, _, body = get(srv, f"/api/v1/jobs/{ids[1]}/", token)
    assert status == 200
    job = json.loads(body)
    assert list(job) == FIELDS
    assert (job["kind"], job["status"], job["attempts"], job["error"]) == (
        "import_shapefile", "successful", 1, None)
    assert job["args"]["sid"] == "pts" and job["result"]["loaded"] == job["total"] > 0
    assert job["progress"] == job["total"]
    for name in ("created", "started", "finished", "updated"):
        assert DRF_DATETIME.match(job[name]), job[name]
    assert dt.datetime.fromisoformat(job["finished"].replace("Z", "+00:00")) >= \
        dt.datetime.fromisoformat(job["started"].replace("Z", "+00:00"))
    failed = json.loads(get(srv, f"/api/v1/jobs/{ids[0]}/", token)[2])
    assert failed["status"] == "failed" and "missing.csv: no such file" in failed["error"]
    assert failed["finished"] is not None and failed["result"] is None
    waiting = json.loads(get(srv, f"/api/v1/jobs/{ids[2]}/", token)[2])
    assert (waiting["status"], waiting["started"], waiting["worker"], waiting["total"]) == (
        "accepted", None, None, None)


def test_missing_jobs_wrong_methods_and_options(api) -> None:
    srv, token, ids = api
    assert get(srv, "/api/v1/jobs/999999/", token)[:3:2] == (404, b'{"detail":"Not found."}')
    status, headers, body = get(srv, "/api/v1/jobs/abc/", token)
    assert status == 404 and headers["content-type"].startswith("text/html")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        path = "/api/v1/jobs/" if method == "POST" else f"/api/v1/jobs/{ids[0]}/"
        status, _, body = get(srv, path, token, method)
        assert (status, body) == (405, f'{{"detail":"Method \\"{method}\\" not allowed."}}'
                                  .encode())
    status, headers, body = get(srv, "/api/v1/jobs/", token, "OPTIONS")
    assert status == 200 and json.loads(body)["name"] == "Job List"
    assert headers["allow"] == "GET, HEAD, OPTIONS"
    assert "actions" not in json.loads(body)


def test_not_in_the_recorded_openapi_document(api) -> None:
    srv, token, _ = api
    schema = json.loads(get(srv, "/api/schema/?format=json", token)[2])
    assert not any("jobs" in path for path in schema["paths"])
