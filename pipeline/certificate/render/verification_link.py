"""The portal address where anyone can check a certificate, and its QR code for the preview."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import segno

DEFAULT_PORTAL_URL = "https://127.0.0.1:8444"


def verification_url(portal_url: str, number: str) -> str:
    """``<portal>/v1/certificates/<number>``: the portal's page for one certificate.

    Raises ValueError for a portal address that is not an absolute http(s) URL.
    """
    parts = urlsplit(portal_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"portal URL {portal_url!r} is not an absolute http(s) address")
    if parts.query or parts.fragment:
        raise ValueError(f"portal URL {portal_url!r} must not carry a query or fragment")
    return f"{portal_url.rstrip('/')}/v1/certificates/{quote(number, safe='-')}"


def qr_code_data_uri(url: str) -> str:
    """An SVG QR code of ``url`` (error correction M, so a creased print still scans), as a
    ``data:`` URI that an HTML ``img`` shows without fetching anything."""
    data_uri: str = segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=2)
    return data_uri
