"""Prints the preview page to PDF with WeasyPrint, whose Pango and HarfBuzz shape Thai and
Vietnamese text correctly. The page may embed ``data:`` URIs only: nothing is fetched."""

from __future__ import annotations

import weasyprint  # type: ignore[import-untyped]
from weasyprint.urls import FatalURLFetchingError  # type: ignore[import-untyped]

ALLOWED_PROTOCOLS = frozenset({"data"})


def render_pdf(page_html: str) -> bytes:
    """The PDF (A4) of an HTML preview page.

    Any reference other than a ``data:`` URI raises ValueError instead of reaching the file
    system or the network.
    """
    fetcher = weasyprint.URLFetcher(allowed_protocols=ALLOWED_PROTOCOLS, fail_on_errors=True)
    try:
        pdf: bytes = weasyprint.HTML(string=page_html, url_fetcher=fetcher).write_pdf()
    except FatalURLFetchingError as exc:  # a BaseException in WeasyPrint: keep it contained
        raise ValueError(f"the preview refers to an outside resource: {exc}") from None
    return pdf
