"""The portal's application page shows a refused issuance like any state: its name (styled as
a bad outcome) and the refusal's figures as the reasons."""

from __future__ import annotations

from pathlib import Path

from connectors.portal import i18n
from connectors.portal.i18n import translator
from connectors.portal.pages import templates

CSS = Path(__file__).resolve().parents[3] / "connectors" / "portal" / "static" / "portal.css"
FIGURES = ("overdraw of E260000000010001 item 1: 15000 KGM asked, 10000 KGM left of 30000 "
           "(20000 drawn before)")


def test_the_application_page_shows_issuance_refused_with_its_figures() -> None:
    app = {"application_id": "b2b-2", "state": "ISSUANCE_REFUSED", "certificate_number": None,
           "reasons": [FIGURES], "alerts_raised": [], "supplier_declarations": [],
           "history": [{"at": "2026-05-21T10:00:00", "event_type": "eco.certificate.refused.v1",
                        "state": "ISSUANCE_REFUSED", "detail": "issuance refused (OVERDRAW)"}]}
    page = templates.get_template("application.html").render(
        app=app, t=translator("en"), lang="en", languages=i18n.NAMES, caller=None, csrf="",
        session=None)
    assert 'class="state state-ISSUANCE_REFUSED"' in page
    assert FIGURES in page
    assert ".state-ISSUANCE_REFUSED" in CSS.read_text()
