"""Previews of a certificate in English, Thai or Vietnamese, as HTML or PDF, laid out like the
agreement's form: the labels and notes translated, the certificate's data as issued (English),
and a QR code pointing to the portal's verification address."""

from pipeline.certificate.render.html_form import render_html
from pipeline.certificate.render.labels import LANGUAGES, Labels, labels_for
from pipeline.certificate.render.pdf import render_pdf
from pipeline.certificate.render.preview import preview_html, preview_pdf
from pipeline.certificate.render.reading import CertificateView, read_certificate
from pipeline.certificate.render.verification_link import (
    DEFAULT_PORTAL_URL,
    qr_code_data_uri,
    verification_url,
)

__all__ = [
    "DEFAULT_PORTAL_URL",
    "LANGUAGES",
    "CertificateView",
    "Labels",
    "labels_for",
    "preview_html",
    "preview_pdf",
    "qr_code_data_uri",
    "read_certificate",
    "render_html",
    "render_pdf",
    "verification_url",
]
