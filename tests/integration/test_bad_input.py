"""Bad input over real HTTP: a clear DRF-style error, nothing half-written, no traceback or SQL."""
from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Any

import pytest

from tests.conftest import Server

LEAKS = ("Traceback", "psycopg", "sqlalchemy", "SELECT ", "INSERT ", "UPDATE ", "DELETE FROM",
         "File \"/")


def request(server: Server, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def assert_no_leak(body: bytes) -> None:
    text = body.decode("utf-8", "replace")
    for marker in LEAKS:
        assert marker not in text, f"{marker!r} leaked in {text[:300]!r}"


def source(sid: str) -> bytes:
    return json.dumps({"sid": sid, "name": "n", "description": "d", "source_type": "t"}).encode()


def count_sources(server: Server) -> int:
    status, _, body = request(server, "GET", "/api/v1/sources/?page_size=1")
    assert status == 200
    return int(json.loads(body)["count"])


def test_huge_body_is_rejected_cleanly(server: Server) -> None:
    before = count_sources(server)
    big = b'{"sid": "huge", "name": "n", "description": "d", "source_type": "t", "attributes": "' \
          + b"x" * (4 * 1024 * 1024) + b'"}'
    head = (f"POST /api/v1/sources/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(big)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        try:  # the server may answer and close before it has read the whole body
            sock.sendall(head + big)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = b""
        try:
            while chunk := sock.recv(65536):
                response += chunk
        except ConnectionResetError:
            pass
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line.split()[1] == b"413", response[:300]
    assert rest.split(b"\r\n\r\n", 1)[1] == b'{"detail":"Request body is too large."}'
    assert count_sources(server) == before


def test_deeply_nested_json_is_a_parse_error(server: Server) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    status, _, body = request(server, "POST", "/api/v1/sources/", deep)
    assert status == 400
    assert json.loads(body)["detail"].startswith("JSON parse error - ")
    assert_no_leak(body)


def test_deep_attributes_within_limits_round_trip(server: Server) -> None:
    nested: Any = "leaf"
    for _ in range(200):
        nested = {"a": nested}
    payload = json.dumps({"sid": "deep-ok", "name": "n", "description": "d", "source_type": "t",
                          "attributes": nested}).encode()
    status, _, body = request(server, "POST", "/api/v1/sources/", payload)
    assert status == 201, body[:300]
    created = json.loads(body)
    status, _, body = request(server, "GET", f"/api/v1/sources/{created['id']}/")
    assert status == 200 and json.loads(body)["attributes"] == nested


def test_invalid_utf8_is_a_parse_error(server: Server) -> None:
    status, _, body = request(server, "POST", "/api/v1/sources/", b'{"sid": "\xff\xfe"}')
    assert status == 400
    assert json.loads(body) == {
        "detail": "JSON parse error - 'utf-8' codec can't decode byte 0xff in position 9: "
                  "invalid start byte"}


@pytest.mark.parametrize("query", ["page=99999999999999999999999", "page=4611686018427387905",
                                   "page_size=99999999999999999999&page=2", "page=-5",
                                   "page_size=-1&page=0"])
def test_absurd_pages_are_invalid_pages(server: Server, query: str) -> None:
    status, _, body = request(server, "GET", f"/api/v1/sources/?{query}")
    assert status == 404
    assert json.loads(body) == {"detail": "Invalid page."}


@pytest.mark.parametrize("path", ["/api/v1/sources/99999999999999999999999999/",
                                  "/api/v1/layers/9223372036854775808/",
                                  "/api/v1/projects/9223372036854775807/"])
def test_absurd_ids_are_not_found(server: Server, path: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        status, _, body = request(server, method, path, b"{}" if method == "PATCH" else None)
        assert status == 404, (method, body)
        assert json.loads(body) == {"detail": "Not found."}


@pytest.mark.parametrize("query", ["source_id=99999999999999999999999", "source_id=1&limit=1e9",
                                   "source_id=1&bbox=1,2,3,4e999999"])
def test_absurd_wfs_parameters(server: Server, query: str) -> None:
    request(server, "POST", "/api/v1/sources/", source("wfs-absurd"))
    status, _, body = request(server, "GET", f"/api/v1/wfs/?{query}")
    assert status in (400, 404, 200), body[:200]
    assert status != 500
    assert_no_leak(body)


def test_concurrent_duplicate_sid_gives_one_201_and_400s(server: Server) -> None:
    results: list[tuple[int, bytes]] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        status, _, body = request(server, "POST", "/api/v1/sources/", source("race-sid"))
        results.append((status, body))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 1, results
    assert statuses.count(400) == 7, results
    for status, body in results:
        if status == 400:
            assert json.loads(body) == {"sid": ["source with this sid already exists."]}
    status, _, body = request(server, "GET", "/api/v1/sources/?search=race-sid")
    assert json.loads(body)["count"] == 0  # search looks at name/description/type, not sid
    status, _, body = request(server, "GET", "/api/v1/sources/?page_size=100")
    assert sum(1 for r in json.loads(body)["results"] if r["sid"] == "race-sid") == 1


def test_failed_nested_layer_write_leaves_nothing(server: Server) -> None:
    request(server, "POST", "/api/v1/sources/", source("taken-sid"))
    sources_before = count_sources(server)
    payload = json.dumps({"lid": "", "name": "L", "source": {
        "sid": "brand-new", "name": "n", "description": "d", "source_type": "t"}}).encode()
    status, _, body = request(server, "POST", "/api/v1/layers/", payload)
    assert status == 400 and json.loads(body) == {"lid": ["This field may not be blank."]}
    assert count_sources(server) == sources_before


def test_unknown_method_token_gets_drf_405(server: Server) -> None:
    status, headers, body = request(server, "BREW", "/api/v1/sources/")
    assert status == 405
    assert headers["allow"] == "GET, POST, HEAD, OPTIONS"
    assert json.loads(body) == {"detail": 'Method "BREW" not allowed.'}


def test_every_response_has_a_request_id(server: Server) -> None:
    status, headers, _ = request(server, "GET", "/api/v1/sources/", headers={"X-Request-ID": "abc-123"})
    assert headers["x-request-id"] == "abc-123"
    status, headers, _ = request(server, "GET", "/nope")
    assert status == 404 and len(headers["x-request-id"]) == 32

