"""A certificate preview in one language, from the certificate's bytes: what the ``eco render``
command and the portal's preview pages call."""

from __future__ import annotations

from pipeline.certificate.render.html_form import render_html
from pipeline.certificate.render.labels import labels_for
from pipeline.certificate.render.pdf import render_pdf
from pipeline.certificate.render.reading import read_certificate
from pipeline.certificate.render.verification_link import verification_url


def preview_html(xml: bytes, lang: str, *, portal_url: str) -> str:
    """The HTML preview of a certificate in ``lang`` (en, th or vi), its QR code pointing to
    ``<portal_url>/v1/certificates/<number>``.

    Raises UnsafeXml or InvalidInput for a document that is not a readable certificate, and
    ValueError for an unknown language or a portal address that is not http(s).
    """
    certificate = read_certificate(xml)
    return render_html(certificate, labels_for(lang),
                       verification_url=verification_url(portal_url, certificate.number))


def preview_pdf(xml: bytes, lang: str, *, portal_url: str) -> bytes:
    """The PDF preview of a certificate in ``lang``; raises as ``preview_html`` does."""
    return render_pdf(preview_html(xml, lang, portal_url=portal_url))
