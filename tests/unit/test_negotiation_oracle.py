"""samsyn.compat.negotiation against DRF 3.14's DefaultContentNegotiation and
JSONRenderer.get_indent (the legacy's renderers: JSONRenderer, BrowsableAPIRenderer), for
generated Accept headers and ?format= values around the recorded ones: other orders, casings,
parameters, q-values, white space, empty items, repeated types."""
from __future__ import annotations

import os
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from samsyn.compat import negotiation
from tests.unit import django_oracle

django_oracle.configure()

from django.http import Http404  # noqa: E402
from rest_framework import exceptions, renderers  # noqa: E402
from rest_framework.negotiation import DefaultContentNegotiation  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402
from rest_framework.utils.mediatypes import _MediaType, media_type_matches, order_by_precedence  # noqa: E402

EXAMPLES = int(os.environ.get("SAMSYN_ORACLE_EXAMPLES", "1500"))
RENDERERS = [renderers.JSONRenderer(), renderers.BrowsableAPIRenderer()]
FACTORY = APIRequestFactory()


def drf(accept: str | None, fmt: str | None) -> Any:
    """DRF's answer: "406", "404", or (media type, {the indents it may pick}).

    order_by_precedence groups the Accept entries in *sets*, so which of two entries of the
    same precedence that match the same renderer wins depends on string hashing (a per-process
    seed): either is DRF's answer. samsyn takes the first one in the header."""
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(FACTORY.get("/api/v1/sources/", {"format": fmt} if fmt is not None
                                  else {}, **extra))
    negotiator = DefaultContentNegotiation()
    try:
        renderer, _ = negotiator.select_renderer(request, RENDERERS)
    except exceptions.NotAcceptable:
        return "406"
    except Http404:
        return "404"
    if not isinstance(renderer, renderers.JSONRenderer):
        return renderer.media_type, {None}
    for group in order_by_precedence(negotiator.get_accept_list(request)):
        matching = [m for m in group if media_type_matches(renderer.media_type, m)]
        if matching:
            indents = set()
            for media_type in matching:
                wrapper = _MediaType(media_type)
                if _MediaType(renderer.media_type).precedence > wrapper.precedence:
                    media_type = ";".join((renderer.media_type,) + tuple(
                        f"{k}={v}" for k, v in wrapper.params.items()))
                indents.add(renderer.get_indent(media_type, {}))
            return renderer.media_type, indents
    raise AssertionError("select_renderer chose a renderer no entry matches")


def ours(accept: str | None, fmt: str | None) -> Any:
    try:
        got = negotiation.negotiate_api(accept, fmt)
    except negotiation.NotAcceptable:
        return "406"
    except negotiation.UnknownFormat:
        return "404"
    return got.renderer.media_type, got.indent() if got.renderer.format == "json" else None


TYPES = st.sampled_from(["application/json", "text/html", "*/*", "application/*", "text/*",
                         "APPLICATION/JSON", "Text/Html", "application/xml", "image/png",
                         "application/vnd.api+json", "*/json", "application/json ", " */*",
                         "", "*", "application", "text/plain", "application/yaml"])
PARAMS = st.sampled_from(["q=0", "q=0.5", "q=1", "indent=4", "indent=0", "indent=-3",
                          "indent=12", "indent=x", "indent=", "indent=2.5", "Indent=2",
                          "indent = 3", "charset=utf-8", "version=1", "q=0.9;indent=2",
                          ' indent="4"', "level=1"])


@st.composite
def accept_headers(draw: Any) -> str | None:
    if draw(st.integers(0, 15)) == 0:
        return None
    items = []
    for _ in range(draw(st.integers(1, 4))):
        item = draw(TYPES)
        for _ in range(draw(st.integers(0, 2))):
            item += draw(st.sampled_from([";", "; ", " ;"])) + draw(PARAMS)
        items.append(item)
    return draw(st.sampled_from([",", ", ", " , ", ",,"])).join(items)


@settings(max_examples=EXAMPLES, deadline=None)
@given(accept=accept_headers(),
       fmt=st.one_of(st.none(), st.sampled_from(["json", "api", "xml", "", "JSON", "yaml"])))
@example(accept="application/json; indent=4", fmt=None)
@example(accept="text/html;q=0.1, application/json;q=0.9", fmt=None)
@example(accept="*/*; indent=0", fmt=None)
@example(accept="application/json, text/plain, */*", fmt="api")
def test_negotiation_is_drfs(accept: str | None, fmt: str | None) -> None:
    got, expected = ours(accept, fmt), drf(accept, fmt)
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and got[0] == expected[0], (accept, fmt, got, expected)
        assert got[1] in expected[1], (accept, fmt, got, expected)
    else:
        assert got == expected, (accept, fmt)
