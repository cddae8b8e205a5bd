"""The small HTML pages that stand where Django served its own (404, 500) and DRF its browsable
API.

Mirrors the legacy's DEBUG 404 page, Django 4.1 `django.views.debug.technical_404_response`
(technical_404.html: its title and heading; the sentence of `django.views.defaults.page_not_found`
instead of the URLconf dump). The 500 page stands in for `technical_500_response` and
`browsable_page` for DRF 3.14's `BrowsableAPIRenderer`, neither copied: no traceback, no DRF
HTML (nothing internal leaves the server).
"""
from __future__ import annotations

import html

HTML_TYPE = "text/html; charset=utf-8"
HTML_MEDIA = "text/html"  # Litestar appends the charset itself


def not_found_page(path: str) -> bytes:
    """Django's 'Page not found' without the DEBUG URLconf dump."""
    escaped = html.escape(path)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n  <meta http-equiv="content-type" '
        'content="text/html; charset=utf-8">\n  <title>Page not found at '
        f"{escaped}</title>\n</head>\n<body>\n  <h1>Page not found <span>(404)</span></h1>\n"
        f"  <p>The requested resource was not found on this server: {escaped}</p>\n"
        "</body>\n</html>\n"
    ).encode()


def server_error_page() -> bytes:
    """A generic 500 page: never a traceback, never SQL text."""
    return (b'<!DOCTYPE html>\n<html lang="en">\n<head><title>Server Error (500)</title></head>\n'
            b"<body><h1>Server Error (500)</h1></body>\n</html>\n")


def browsable_page(title: str, body: bytes) -> bytes:
    """A minimal stand-in for DRF's browsable API: the JSON body in a page."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body><h1>{html.escape(title)}</h1>\n"
        f"<pre>{html.escape(body.decode('utf-8', 'replace'))}</pre>\n</body>\n</html>\n"
    ).encode()
