"""The portal's API as a client meets it: over real HTTPS, with real tokens from the real
OpenID provider, against a real broker and worker. Refused calls get 401/403/4xx and leave
nothing on Kafka."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from pipeline.application.xml import application_to_xml
from pipeline.services import free_port
from tests.integration.harness import (
    SAMPLES,
    days_from_today,
    decoded,
    eco,
    promtool_accepts,
    read_all,
    wait_for,
)
from tests.integration.oidc import SHORT_LIVED_CLIENT, node_available, trusting
from tests.integration.portal_stack import PortalStack, portal_stack

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not node_available(), reason="npm ci --prefix deploy/oidc")]
EXPORTER_ID = "91440300MA5DLED01X"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalStack]:
    with portal_stack(tmp_path_factory.mktemp("portal")) as stack:
        yield stack


@pytest.fixture(scope="module")
def exporter_token(portal: PortalStack) -> str:
    return portal.provider.token("exporter")


def sample(name: str = "01-rcep-led-luminaires-vn.json", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    document.pop("application_id", None)
    document.update(changes)
    return document


def unique_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def state_of(client: httpx.Client, app_id: str, wanted: set[str], timeout: float = 90
             ) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        response = client.get(f"/v1/applications/{app_id}")
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and body["state"] in wanted else None

    return wait_for(reached, timeout, f"{app_id} to reach {wanted}")


def issued(client: httpx.Client, app_id: str) -> str:
    """Submit the first sample as ``app_id``; its certificate number once issued."""
    assert client.post("/v1/applications", json=sample(application_id=app_id)).status_code == 202
    number: str = state_of(client, app_id, {"ISSUED", "TRANSMITTED", "ACCEPTED"}
                           )["certificate_number"]
    return number


def on_kafka(portal: PortalStack, ids: set[str]) -> set[str]:
    return {e.subject for e in decoded(portal.stack, "eco.application", ids)}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    pad = lambda text: text + "=" * (-len(text) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(header))),
            json.loads(base64.urlsafe_b64decode(pad(payload))))


def test_submission_is_issued_and_a_repeated_key_gets_the_first_answer(
        portal: PortalStack, exporter_token: str) -> None:
    key = unique_id("order")
    with portal.client(exporter_token) as client:
        first = client.post("/v1/applications", json=sample(), headers={"Idempotency-Key": key})
        assert first.status_code == 202, first.text
        again = client.post("/v1/applications", json=sample(), headers={"Idempotency-Key": key})
        assert again.status_code == 202 and again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        app_id = first.json()["application_id"]
        assert first.headers["Location"].endswith(f"/v1/applications/{app_id}")
        other = client.post("/v1/applications", json=sample(marks="changed"),
                            headers={"Idempotency-Key": key})
        assert other.status_code == 422
        assert other.headers["content-type"] == "application/problem+json"
        status = state_of(client, app_id, {"ACCEPTED", "TRANSMITTED", "ISSUED"})
        assert status["history"][0]["state"] == "SUBMITTED"
        assert status["certificates"][0]["standing"] == "valid"
        cited = {c["reference"]: c["state"] for c in status["supplier_declarations"]}
        assert cited and set(cited.values()) <= {"missing", "valid", "expired"}
    submitted = [r for r in read_all(portal.stack, "eco.application")
                 if r.key and r.key.decode() == app_id]
    assert len(submitted) == 1


def test_xml_submission_follows_the_schema_and_errors_name_the_field(
        portal: PortalStack, exporter_token: str) -> None:
    app_id = unique_id("xml")
    xml = application_to_xml(sample(application_id=app_id))
    with portal.client(exporter_token) as client:
        accepted = client.post("/v1/applications", content=xml,
                               headers={"Content-Type": "application/xml"})
        assert accepted.status_code == 202, accepted.text
        broken = xml.replace(b"<hs_code>940542</hs_code>", b"<hs_code>94-05</hs_code>", 1)
        refused = client.post("/v1/applications", content=broken.replace(
            app_id.encode(), b"xml-broken"), headers={"Content-Type": "application/xml"})
        assert refused.status_code == 422
        assert {"path": "items[0].hs_code"}.items() <= refused.json()["errors"][0].items()
        state_of(client, app_id, {"ISSUED", "TRANSMITTED", "ACCEPTED"})
    [event] = [e for e in decoded(portal.stack, "eco.application", {app_id})]
    assert event.data["document_format"] == "XML_V1"
    assert "xml-broken" not in on_kafka(portal, {"xml-broken"})


def test_a_back_to_back_xml_application_reaches_kafka_by_the_portal_and_by_eco_submit(
        portal: PortalStack, exporter_token: str, tmp_path: Path) -> None:
    """The XSD carries the back-to-back block, the item drawn on and a material's role."""
    document = sample()  # the exporter the token speaks for
    document["items"][0]["original_item_no"] = 1
    document["items"][0]["materials"][0]["role"] = "accessory"
    document["back_to_back"] = {
        "original_certificate": f"VN26{uuid.uuid4().hex[:8].upper()}",
        "original_issue_date": "2026-05-01", "original_country": "VN",
        "original_items": [{"item_no": 1, "hs_code": document["items"][0]["hs_code"],
                            "quantity": {"value": "500", "unit": "PCE"}}]}
    by_portal, by_cli = unique_id("xml-b2b"), unique_id("xml-b2b-cli")
    with portal.client(exporter_token) as client:
        accepted = client.post("/v1/applications", headers={"Content-Type": "application/xml"},
                               content=application_to_xml({**document,
                                                           "application_id": by_portal}))
        assert accepted.status_code == 202, accepted.text
    path = tmp_path / "movement.xml"
    path.write_bytes(application_to_xml({**document, "application_id": by_cli}))
    result = eco(portal.stack, "submit", str(path))
    assert result.returncode == 0, result.stderr
    found = wait_for(lambda: (e := {x.subject: x for x in decoded(
        portal.stack, "eco.application", {by_portal, by_cli})}) and len(e) == 2 and e, 90,
                     "both XML applications on eco.application")
    for app_id, event in found.items():
        assert event.data["document_format"] == "XML_V1"
        sent = json.loads(event.data["document"])
        assert sent["back_to_back"] == document["back_to_back"], app_id
        assert sent["items"][0]["original_item_no"] == 1
        assert sent["items"][0]["materials"][0]["role"] == "accessory"


def test_tokens_that_must_be_refused_are_refused_and_nothing_reaches_kafka(
        portal: PortalStack, exporter_token: str) -> None:
    header, claims = _parts(exporter_token)
    forger = RSAKey.generate_key(2048)
    forged = jwt.encode({"alg": "RS256", "kid": header["kid"], "typ": "at+jwt"}, claims, forger)
    unsigned = f"{_b64({'alg': 'none', 'kid': header['kid'], 'typ': 'at+jwt'})}.{_b64(claims)}."
    wrong_audience = portal.provider.token("exporter",
                                           resource=portal.provider.other_resource)
    short = portal.provider.token("exporter", client=SHORT_LIVED_CLIENT)
    expiry = _parts(short)[1]["exp"]
    wait_for(lambda: time.time() > expiry + 2, 30, "the short-lived token to expire")
    tokens = {"garbage": "not-a-token", "forged": forged, "unsigned": unsigned,
              "wrong_audience": wrong_audience, "expired": short}
    tried: set[str] = set()
    for name, token in tokens.items():
        app_id = unique_id(f"refused-{name}")
        tried.add(app_id)
        with portal.client(token) as client:
            response = client.post("/v1/applications", json=sample(application_id=app_id))
        assert response.status_code == 401, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
    other_tenant = portal.provider.token("exporter2")
    app_id = unique_id("refused-other-tenant")
    tried.add(app_id)
    with portal.client(other_tenant) as client:
        response = client.post("/v1/applications", json=sample(application_id=app_id))
        assert response.status_code == 403
        assert response.json()["errors"][0]["path"] == "exporter.id"
    operations = portal.provider.token("operations")
    app_id = unique_id("refused-operations")
    tried.add(app_id)
    with portal.client(operations) as client:
        assert client.post("/v1/applications",
                           json=sample(application_id=app_id)).status_code == 403
    with portal.client() as anonymous:
        assert anonymous.post("/v1/applications", json=sample()).status_code == 401
    assert on_kafka(portal, tried) == set()


def test_other_tenants_never_see_an_application_its_certificate_or_its_events(
        portal: PortalStack, exporter_token: str) -> None:
    app_id = unique_id("private")
    with portal.client(exporter_token) as client:
        number = issued(client, app_id)
    with portal.client(portal.provider.token("exporter2")) as client:
        assert client.get(f"/v1/applications/{app_id}").status_code == 404
        assert client.get(f"/v1/certificates/{number}").status_code == 404
        assert client.get(f"/v1/certificates/{number}.xml").status_code == 404
        listed = client.get("/v1/applications").json()["applications"]
        assert app_id not in {a["application_id"] for a in listed}
    with portal.client(portal.provider.token("operations")) as client:
        assert client.get(f"/v1/applications/{app_id}").status_code == 200


def test_hostile_and_oversize_bodies_get_4xx(portal: PortalStack, exporter_token: str
                                             ) -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<application xmlns="urn:eco-pipeline:application:1">&x;</application>')
    bomb = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;">]>'
            b'<application xmlns="urn:eco-pipeline:application:1">&c;</application>')
    deep = b"[" * 5000 + b"]" * 5000
    with portal.client(exporter_token) as client:
        for body in (xxe, bomb):
            response = client.post("/v1/applications", content=body,
                                   headers={"Content-Type": "application/xml"})
            assert response.status_code == 400
            assert "not allowed" in response.json()["detail"]
        big = client.post("/v1/applications", content=b"{" + b" " * (300 * 1024) + b"}",
                          headers={"Content-Type": "application/json"})
        assert big.status_code == 413
        nested = client.post("/v1/applications", content=deep,
                             headers={"Content-Type": "application/json"})
        assert nested.status_code == 422 and "nested deeper" in nested.text
        assert client.post("/v1/applications", content=b"x",
                           headers={"Content-Type": "text/csv"}).status_code == 415


def test_event_stream_carries_own_events_and_resumes_after_last_event_id(
        portal: PortalStack, exporter_token: str) -> None:
    app_id, foreign_id = unique_id("live"), unique_id("live-foreign")
    seen: list[dict[str, Any]] = []
    others: set[str] = set()
    ids: list[str] = []
    with portal.client(exporter_token) as client, client.stream("GET", "/v1/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        with portal.client(portal.provider.token("exporter2")) as foreign:
            foreign_doc = sample("02-acfta-kettles-th.json", application_id=foreign_id)
            assert foreign.post("/v1/applications", json=foreign_doc).status_code == 202
        assert client.post("/v1/applications",
                           json=sample(application_id=app_id)).status_code == 202
        deadline = time.monotonic() + 90
        last_id = ""
        for line in stream.iter_lines():
            if line.startswith("id: "):
                last_id = line[4:]
            if line.startswith("data: "):
                event = json.loads(line[6:])
                others.add(event["application_id"])
                if event["application_id"] == app_id:
                    seen.append(event)
                    ids.append(last_id)
                if event["state"] == "ISSUED" or time.monotonic() > deadline:
                    break
    assert foreign_id not in others  # another tenant's events never reach this stream
    states = [e["state"] for e in seen]
    assert states[0] == "SUBMITTED" and "ISSUED" in states
    with portal.client(exporter_token) as client, client.stream(
            "GET", "/v1/events", headers={"Last-Event-ID": ids[0]}) as resumed:
        for line in resumed.iter_lines():
            if line.startswith("data: ") and json.loads(line[6:])["application_id"] == app_id:
                # the next of this application after the last one seen, not the first again
                assert json.loads(line[6:])["id"] == ids[1]
                break


def test_certificates_previews_and_public_verification(portal: PortalStack,
                                                       exporter_token: str) -> None:
    app_id = unique_id("cert")
    with portal.client(exporter_token) as client:
        number = issued(client, app_id)
        xml = client.get(f"/v1/certificates/{number}.xml")
        assert xml.status_code == 200 and b"Signature" in xml.content
        for lang, word in (("th", 'lang="th"'), ("vi", 'lang="vi"')):
            preview = client.get(f"/v1/certificates/{number}/preview", params={"lang": lang})
            assert preview.status_code == 200 and word in preview.text
        pdf = client.get(f"/v1/certificates/{number}.pdf", params={"lang": "vi"})
        assert pdf.content.startswith(b"%PDF")
        assert client.get(f"/v1/certificates/{number}/preview",
                          params={"lang": "fr"}).status_code == 400
    with portal.client() as anonymous:
        assert anonymous.get(f"/v1/verification/{number}").json()["standing"] == "valid"
        qr = anonymous.get(f"/v1/certificates/{number}", headers={"Accept": "text/html"})
        assert qr.status_code == 303 and qr.headers["location"] == f"/verify/{number}"
        assert anonymous.get(f"/v1/certificates/{number}").status_code == 401


def test_officer_revokes_and_the_verification_says_so(portal: PortalStack,
                                                      exporter_token: str) -> None:
    app_id = unique_id("revoke")
    with portal.client(exporter_token) as client:
        number = issued(client, app_id)
        assert client.post(f"/v1/certificates/{number}/requests",
                           json={"action": "revoke", "reason": "x"}).status_code == 403
    with portal.client(portal.provider.token("officer")) as officer:
        response = officer.post(f"/v1/certificates/{number}/requests",
                                json={"action": "revoke", "reason": "goods not exported"})
        assert response.status_code == 202, response.text
    with portal.client() as anonymous:
        wait_for(lambda: anonymous.get(f"/v1/verification/{number}").json()["standing"]
                 == "revoked", 90, "the revocation")


def test_supplier_declares_and_the_exporter_sees_it_cited(portal: PortalStack,
                                                          exporter_token: str) -> None:
    declaration = {"reference": "SD-MY-2026-0031", "supplier": "Penang Photonics Sdn. Bhd.",
                   "hs_code": "854141", "origin_country": "MY", "agreement": "RCEP",
                   "valid_from": days_from_today(-140), "valid_until": days_from_today(225),
                   "processing": "wafer dicing, die bonding and packaging in Penang"}
    with portal.client(exporter_token) as client:
        assert client.post("/v1/declarations", json=declaration).status_code == 403
    with portal.client(portal.provider.token("supplier")) as supplier:
        assert supplier.post("/v1/declarations", json=declaration).status_code == 202
        bad = supplier.post("/v1/declarations", json={**declaration, "hs_code": "85x"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "hs_code"
        undescribed = {k: v for k, v in declaration.items() if k != "processing"}
        assert supplier.post("/v1/declarations", json=undescribed).status_code == 422

        def listed() -> dict[str, object] | None:
            found = {d["reference"]: d for d in supplier.get("/v1/declarations").json()
                     ["declarations"]}
            return found.get("SD-MY-2026-0031")

        kept = wait_for(listed, 60, "the declaration in the supplier's list")
        assert kept["processing"] == declaration["processing"]
    app_id = unique_id("cites")
    with portal.client(exporter_token) as client:
        client.post("/v1/applications", json=sample(application_id=app_id))

        def cited() -> dict[str, str] | None:
            body = client.get(f"/v1/applications/{app_id}").json()
            found = {c["reference"]: c["state"] for c in body.get("supplier_declarations", [])}
            return found if found.get("SD-MY-2026-0031") == "valid" else None

        states = wait_for(cited, 60, "the declaration to be cited as valid")
        assert states["SD-CN-2026-0410"] == "missing"


def test_representative_acts_for_its_exporters_only(portal: PortalStack) -> None:
    token = portal.provider.token("broker")
    with portal.client(token) as client:
        mine = sample("03-rcep-tshirts-my.json", application_id=unique_id("broker"))
        assert client.post("/v1/applications", json=mine).status_code == 202
        theirs = sample(application_id=unique_id("broker-not"))
        assert client.post("/v1/applications", json=theirs).status_code == 403


def test_https_only_modern_tls_headers_openapi_and_operations_endpoints(
        portal: PortalStack) -> None:
    old = ssl.create_default_context(cafile=str(portal.ca_file))
    old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(httpx.ConnectError), httpx.Client(verify=old) as client:
        client.get(f"{portal.url}/healthz")
    tls12 = ssl.create_default_context(cafile=str(portal.ca_file))
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(verify=tls12) as client:
        assert client.get(f"{portal.url}/healthz").status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.get(portal.url.replace("https", "http") + "/healthz", timeout=5)
    with portal.client() as client:
        health = client.get("/healthz")
        assert health.headers["strict-transport-security"].startswith("max-age=")
        assert health.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'self'" in health.headers["content-security-policy"]
        spec = client.get("/openapi.json").json()
        assert {"/v1/applications", "/v1/events", "/v1/certificates/{ref}"} <= set(spec["paths"])
        assert client.get("/readyz").status_code == 200
        assert "eco_portal_requests_total" in client.get("/metrics").text


def test_problem_documents_say_what_and_where(portal: PortalStack, exporter_token: str
                                              ) -> None:
    with portal.client(exporter_token) as client:
        response = client.post("/v1/applications", json=sample(agreement="NAFTA"))
    body = response.json()
    assert response.status_code == 422
    assert body["type"].endswith("invalid-application") and body["status"] == 422
    assert any(e["path"] == "agreement" for e in body["errors"])


def test_eco_submit_via_portal_sends_json_and_xml_with_the_token(
        portal: PortalStack, exporter_token: str, tmp_path: Path) -> None:
    json_file = tmp_path / "led.json"
    json_file.write_text(json.dumps(sample(application_id=unique_id("cli-json"))))
    xml_file = tmp_path / "led.xml"
    xml_file.write_bytes(application_to_xml(sample(application_id=unique_id("cli-xml"))))
    env = {**portal.stack.env, "ECO_PORTAL_TOKEN": exporter_token,
           "ECO_PORTAL_CA_FILE": str(portal.ca_file)}
    result = subprocess.run([sys.executable, "-m", "pipeline", "submit", "--via", "portal",
                             str(json_file), str(xml_file)], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    ids = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert len(ids) == 2 and ids[0].startswith("cli-json")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps(sample(application_id=unique_id("cli-foreign"))))
    refused = subprocess.run([sys.executable, "-m", "pipeline", "submit", "--via", "portal",
                              str(foreign)], env={**env, "ECO_PORTAL_TOKEN":
                                                  portal.provider.token("exporter2")},
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2 and "exporter.id" in refused.stderr


def test_a_second_portal_serves_the_same_from_its_own_view(portal: PortalStack,
                                                           exporter_token: str) -> None:
    app_id = unique_id("second")
    with portal.client(exporter_token) as client:
        number = issued(client, app_id)
        first_xml = client.get(f"/v1/certificates/{number}.xml").content
    port = free_port()
    env = {**portal.stack.env, "ECO_PORTAL_PORT": str(port),
           "ECO_PORTAL_URL": f"https://127.0.0.1:{port}",
           "ECO_OIDC_AUDIENCE": portal.provider.resource,
           "ECO_DATA_DIR": str(portal.stack.home / "second-portal")}  # nothing shared on disk
    portal.stack.services.start("portal-2", "portal", env=env)
    try:
        second = httpx.Client(base_url=f"https://127.0.0.1:{port}", timeout=30,
                              verify=trusting(portal.ca_file),
                              headers={"Authorization": f"Bearer {exporter_token}"})
        with second:
            def ready() -> bool:
                try:
                    return second.get("/readyz").status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for(ready, 90, "the second portal")
            assert second.get(f"/v1/certificates/{number}.xml").content == first_xml
            assert second.get(f"/v1/applications/{app_id}").json()["certificate_number"] == number
    finally:
        portal.stack.services.stop("portal-2")


def test_promtool_check_metrics_accepts_the_live_portals_metrics(
        portal: PortalStack, exporter_token: str) -> None:
    ref = unique_id("metered")
    with portal.client(exporter_token) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get(f"/v1/applications/{ref}").status_code == 404
        assert client.get(f"/no/such/page/{ref}").status_code == 404
        text = promtool_accepts(client.get("/metrics").content)
    assert 'eco_portal_requests_total{code="2xx",method="GET",route="/healthz"}' in text
    assert 'route="/v1/applications/{application_id}"' in text
    assert 'eco_portal_requests_total{code="4xx",method="GET",route="unmatched"}' in text
    assert 'eco_portal_request_duration_seconds_bucket{le="0.1",route="/healthz"}' in text
    assert "eco_build_info{" in text
    assert ref not in text  # no label carries what a client sent
