"""Per-country configuration (ECO_CUSTOMS_FILE): the countries in the file are reached at their
own endpoint over mutual TLS with their own CA bundle, their responses are checked with their
own key, and a country not in the file goes to the manual channel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import feeds
from pipeline.submission import read_document, submission
from tests.integration.harness import SAMPLES, Stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("customs-file")
    customs_file = home / "customs.json"
    with Stack.started(home, {"ECO_CUSTOMS_FILE": str(customs_file),
                              "ECO_RESPONSE_DEADLINE": "1h"}) as stack:
        stack.credentials()  # the sandbox's TLS and response keys stand in for VN's own
        data = stack.data_dir
        customs_file.write_text(json.dumps({"countries": {"VN": {
            "endpoint": f"https://127.0.0.1:{stack.env['ECO_SANDBOX_PORT']}/customs/VN",
            "client_certificate": str(data / "tls" / "worker.pem"),
            "client_key": str(data / "tls" / "worker.key"),
            "ca_bundle": str(data / "tls" / "ca.pem"),
            "response_key": str(data / "customs" / "trust" / "VN.pem"),
            "response_deadline": "2h",
            "status_codes": {"RECEIPT": "ACKNOWLEDGED", "UTILISATION": "PREFERENCE_GIVEN"},
            "customs_authority": "General Department of Viet Nam Customs"}}}))
        stack.start_sandbox()
        stack.start_worker()
        yield stack


def journey(stack: Stack, sample: str, states: set[str]) -> dict[str, Any]:
    document, _ = read_document(SAMPLES / sample)
    sub = submission(document, source=sample, id_suffix="-customs-file")
    asyncio.run(feeds.publish(stack.bootstrap, [sub.envelope]))
    found: dict[str, Any] = asyncio.run(feeds.wait_for_statuses(
        stack.bootstrap, [sub.application_id], lambda s: s["state"] in states, 150))
    status: dict[str, Any] = found.get(sub.application_id, {})
    assert status.get("state") in states, f"{status}\n{stack.log('worker')}"
    return status


def test_a_configured_country_is_reached_and_answers(configured: Stack) -> None:
    status = journey(configured, "01-rcep-led-luminaires-vn.json", {"ACCEPTED"})
    assert status["importing_country"] == "VN"


def test_a_country_not_in_the_file_goes_to_the_manual_channel(configured: Stack,
                                                                 tmp_path: Path) -> None:
    status = journey(configured, "03-rcep-tshirts-my.json", {"FALLBACK_MANUAL"})
    assert status["importing_country"] == "MY"
