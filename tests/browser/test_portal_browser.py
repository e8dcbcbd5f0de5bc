"""The portal in a real browser: Debian's headless Chromium driven by Playwright (never a
downloaded browser). A person signs in with the provider, submits a sample, watches it become
issued without reloading, switches the preview's language, downloads the signed XML (which
verifies), and an officer approves a correction. Screenshots of every page in English, Thai and
Vietnamese, and of the previews, are kept under .eco/test-artifacts/portal/."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.verification import verify_certificate
from tests.integration.harness import REPO, SAMPLES
from tests.integration.oidc import PASSWORDS, node_available
from tests.integration.portal_stack import PortalStack, portal_stack

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / ".eco" / "test-artifacts" / "portal"
ISSUED = ("ISSUED", "TRANSMITTED", "ACCEPTED")

pytestmark = [
    pytest.mark.integration, pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(not node_available(), reason="npm ci --prefix deploy/oidc"),
]
playwright_api = pytest.importorskip("playwright.sync_api")


def spki_hash(cert_file: Path) -> str:
    """The pin Chromium takes to trust the test server certificate, and nothing else."""
    certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
    spki = certificate.public_key().public_bytes(Encoding.DER,
                                                 PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStack]:
    with portal_stack(tmp_path_factory.mktemp("browser")) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser(portal: PortalStack) -> Iterator[Any]:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    pin = spki_hash(portal.ca_file.with_name("server.pem"))
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", f"--ignore-certificate-errors-spki-list={pin}"])
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


PAGE_WORDS = {"en": "Origin Service Portal", "th": "พอร์ทัลบริการถิ่นกำเนิดสินค้า",
              "vi": "Cổng dịch vụ xuất xứ"}


def shots(page: Any, name: str) -> None:
    """The page as it is, in English, Thai and Vietnamese (its own words translated), then
    back in English."""
    url = page.url.split("?")[0]
    for lang in ("th", "vi", "en"):
        page.goto(f"{url}?lang={lang}")
        assert page.get_attribute("html", "lang") == lang
        assert PAGE_WORDS[lang] in page.inner_text("header")
        shot(page, f"{name}.{lang}")


def sign_in(browser: Any, portal: PortalStack, user: str) -> Any:
    context = browser.new_context(accept_downloads=True, locale="en-GB",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(portal.url)
    shots(page, "01-home")
    page.click("#sign-in")
    page.wait_for_selector("input[name=username]")
    shot(page, "02-provider-sign-in")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(f"{portal.url}/portal")
    return page


def test_exporter_submits_watches_it_issued_previews_and_downloads(
        browser: Any, portal: PortalStack, tmp_path: Path) -> None:
    page = sign_in(browser, portal, "exporter")
    assert "Li Wei" in page.inner_text("header")
    shot(page, "03-applications-start")

    page.goto(f"{portal.url}/portal/submit")
    shots(page, "04-submit")
    document = json.loads((SAMPLES / "01-rcep-led-luminaires-vn.json").read_text())
    broken = {**document, "application_id": f"web-bad-{uuid.uuid4().hex[:8]}",
              "items": [{**document["items"][0], "hs_code": "94x"}]}
    page.fill("textarea[name=document]", json.dumps(broken, indent=2))
    page.click("#submit-form button[type=submit]")
    page.wait_for_selector(".errors")
    assert "items[0].hs_code" in page.inner_text(".errors")
    shot(page, "04-submit-errors-by-field")

    app_id = f"web-{uuid.uuid4().hex[:8]}"
    page.fill("textarea[name=document]", json.dumps({**document, "application_id": app_id}))
    page.click("#submit-form button[type=submit]")
    page.wait_for_url(f"{portal.url}/portal/applications/{app_id}")
    page.evaluate("window.__notReloaded = true")
    playwright_api.expect(page.locator("#state")).to_have_text(
        re.compile("ISSUED|TRANSMITTED|ACCEPTED"), timeout=90_000)
    assert page.evaluate("window.__notReloaded") is True  # the state changed in place
    page.wait_for_selector("#certificate a")
    shot(page, "05-application-issued-live")
    shots(page, "05-application")

    page.click("#certificate a")
    page.wait_for_selector("#preview")
    number = page.url.rsplit("/", 1)[-1].split("?")[0]
    for lang, marker in (("en", "en"), ("th", "th"), ("vi", "vi")):
        page.click(f"#languages a[data-lang={lang}]")
        page.wait_for_url(f"**?lang={lang}")
        frame = page.frame_locator("#preview")
        assert frame.locator("html").get_attribute("lang") == marker
        assert PAGE_WORDS[lang] in page.inner_text("header")  # the page follows the preview
        shot(page, f"06-certificate.{lang}")
    for lang in ("en", "th", "vi"):
        preview = page.context.new_page()
        preview.goto(f"{portal.url}/v1/certificates/{number}/preview?lang={lang}")
        shot(preview, f"07-preview.{lang}")
        preview.close()

    with page.expect_download() as download:
        page.click("#download-xml")
    saved = tmp_path / "certificate.xml"
    download.value.save_as(saved)
    trust = TrustRegistry.from_dir(portal.stack.data_dir / "pki" / "trust")
    assert verify_certificate(saved.read_bytes(), trust).number == number

    page.goto(f"{portal.url}/portal?lang=en")
    assert app_id in page.inner_text("#applications")
    shots(page, "08-applications")
    page.goto(f"{portal.url}/portal/declarations")
    shots(page, "08-declarations")

    public = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    public.goto(f"{portal.url}/v1/certificates/{number}")  # where the QR code points
    public.wait_for_selector("#verdict")
    assert "VALID" in public.inner_text("#verdict")
    public.set_input_files("#upload-form input[type=file]", str(saved))
    public.click("#upload-form button")
    public.wait_for_selector("#signature")
    assert public.get_attribute("#signature", "data-valid") == "yes"
    assert "verifies" in public.inner_text("#signature")
    shot(public, "09-public-verification-upload")
    public.goto(f"{portal.url}/verify/{number}")
    shots(public, "09-public-verification")
    public.context.close()
    page.context.close()


def test_officer_approves_a_correction_in_the_browser(browser: Any, portal: PortalStack
                                                      ) -> None:
    exporter = sign_in(browser, portal, "exporter")
    document = json.loads((SAMPLES / "04-acfta-frozen-fish-vn.json").read_text())
    document["exporter"]["id"] = "91440300MA5DLED01X"
    app_id = f"web-fix-{uuid.uuid4().hex[:8]}"
    exporter.goto(f"{portal.url}/portal/submit")
    exporter.fill("textarea[name=document]", json.dumps({**document, "application_id": app_id}))
    exporter.click("#submit-form button[type=submit]")
    exporter.wait_for_selector("#certificate a", timeout=90_000)
    number = exporter.inner_text("#certificate a")
    exporter.context.close()

    officer = sign_in(browser, portal, "officer")
    officer.goto(f"{portal.url}/portal/officer")
    shots(officer, "10-officer-certificates")
    officer.goto(f"{portal.url}/portal/officer/{number}")
    shots(officer, "11-officer-approve")
    corrected = json.loads(officer.input_value("textarea[name=document]"))
    corrected["items"][0]["marks"] = "CORRECTED MARKS"
    officer.check("input[value=supersede]")
    officer.fill("input[name=reason]", "shipping marks corrected at the exporter's request")
    officer.fill("textarea[name=document]", json.dumps(corrected, indent=2))
    shot(officer, "11-officer-approve-correction.en")
    officer.click("#approve-form button[type=submit]")
    officer.wait_for_url(f"{portal.url}/portal/applications/{app_id}")

    public = browser.new_context().new_page()

    def superseded() -> bool:
        public.goto(f"{portal.url}/verify/{number}")
        return public.get_attribute("#verdict", "data-standing") == "superseded"

    from tests.integration.harness import wait_for

    wait_for(superseded, 90, "the old certificate to be superseded")
    assert "superseded by" in public.inner_text("#verdict")
    shots(public, "12-verification-superseded")
    public.context.close()
    officer.context.close()
