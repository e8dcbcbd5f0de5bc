"""Fuzzing the portal's API from its own OpenAPI document (schemathesis, in-process ASGI,
bounded examples), with a real token from the real provider: no request yields a 5xx. What
the API would publish is collected instead of sent to Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.portal.app import create_app
from connectors.portal.state import Portal
from connectors.portal.tokens import TokenVerifier
from pipeline import events
from pipeline.settings import Settings
from pipeline.submission import submission
from tests.integration.harness import SAMPLES
from tests.integration.oidc import Provider, node_available, started_provider
from tests.integration.portal_stack import dev_tls

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not node_available(), reason="npm ci --prefix deploy/oidc")]
PORTAL_URL = "https://portal.test"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    home: Path = tmp_path_factory.mktemp("fuzz")
    ca_file, cert, key = dev_tls(home / "tls")
    with started_provider(home / "oidc", cert, key, ca_file, PORTAL_URL) as started:
        yield started


def test_no_request_from_the_openapi_document_yields_a_5xx(provider: Provider) -> None:
    published: list[events.Envelope] = []

    async def publish(envelopes: Any) -> None:
        published.extend(envelopes)

    config = Settings(portal_url=PORTAL_URL, oidc_issuer=provider.issuer,
                      oidc_ca_file=provider.ca_file, portal_rate_limit=100_000)
    portal = Portal(settings=config, publish=publish,
                    verifier=TokenVerifier(provider.issuer, config.api_audience,
                                           ca_file=provider.ca_file))
    document = json.loads((SAMPLES / "01-rcep-led-luminaires-vn.json").read_text())
    sub = submission(document, source="fuzz", via="PORTAL")
    key, value, headers = events.to_record(sub.envelope)
    portal.view.apply("eco.application", key, value, headers)
    app = create_app(portal, follow=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    token = provider.token("exporter")
    # /v1/events is an endless stream, covered by the SSE integration test.
    operations = [op for op in (result.ok() for result in schema.get_all_operations())
                  if op.path != "/v1/events"]
    statuses: list[int] = []
    assert len(operations) >= 10
    for operation in operations:
        @given(case=operation.as_strategy(), authorised=st.booleans())
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: Any, authorised: bool) -> None:
            headers = {"Authorization": f"Bearer {token}"} if authorised else {}
            response = case.call(headers=headers)
            statuses.append(response.status_code)
            case.validate_response(response, checks=(not_a_server_error,))

        call()
    print(f"fuzzed {len(statuses)} requests over {len(operations)} operations: "
          f"{sorted(set(statuses))}")
    assert len(statuses) >= 100
    assert {200, 401, 404, 422} <= set(statuses)  # the fuzzing got past the token check too
