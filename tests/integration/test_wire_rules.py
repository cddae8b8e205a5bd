"""DRF's JSONRenderer rules on every JSON body, over HTTP: U+2028 and U+2029 always escaped
(renderers.JSONRenderer.render), whatever path built the body (struct encoder, json.dumps,
the wfs kernel, an indented or browsable rendering)."""
from __future__ import annotations

import json

import psycopg

from tests.conftest import Server
from tests.integration.test_bad_input import request

NAME = "line\u2028para\u2029end"


def test_line_and_paragraph_separators_are_escaped_everywhere(server: Server) -> None:
    body = json.dumps({"sid": "u2028", "name": NAME, "description": NAME, "source_type": "t",
                       "attributes": {NAME: NAME}}, ensure_ascii=False).encode()
    status, _, created = request(server, "POST", "/api/v1/sources/", body)
    assert status == 201, created
    source_id = json.loads(created)["id"]
    with psycopg.connect(server.env["DATABASE_URL"].replace("+psycopg", "")) as conn:
        conn.execute("INSERT INTO core_geometry (geom, metadata, geometry_type, source_id) "
                     "VALUES (ST_GeomFromText('POINT(1 2)', 4326), %s, 'Point', %s)",
                     (json.dumps({"label": NAME}), source_id))
    paths = [f"/api/v1/sources/{source_id}/", "/api/v1/sources/?search=line",
             f"/api/v1/wfs/?source_id={source_id}",
             f"/api/v1/wfs/?source_id={source_id}&bbox=0,0,5,5"]
    bodies = [created]
    for path in paths:
        status, _, got = request(server, "GET", path)
        assert status == 200, (path, got)
        bodies.append(got)
    status, _, indented = request(server, "GET", paths[0],
                                  headers={"Accept": "application/json; indent=2"})
    assert status == 200 and b"\n  " in indented
    bodies.append(indented)
    for got in bodies:
        assert "\u2028".encode() not in got and "\u2029".encode() not in got, got
        assert b"\\u2028" in got and b"\\u2029" in got, got
        assert NAME in json.dumps(json.loads(got), ensure_ascii=False)
