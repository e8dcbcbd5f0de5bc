"""ECO_CUSTOMS_FILE: per country endpoint, mutual TLS, CA bundle, response key, deadline and
status codes; every problem of the file named at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.customs.http import HttpCustomsConnector
from connectors.customs.registry import CountryRegistry
from connectors.customs.responses import RESPONSE_STATUSES
from connectors.customs.signatures import generate_customs_keys, load_public_key
from connectors.customs.tls import generate_dev_tls
from pipeline.customsfile import load_customs_file, response_keys, with_customs_file
from pipeline.errors import ConfigurationError
from pipeline.settings import Settings

STATUSES = frozenset(RESPONSE_STATUSES)


@pytest.fixture
def customs_file(tmp_path: Path) -> Path:
    tls = generate_dev_tls(tmp_path / "tls")
    _, trust = generate_customs_keys(tmp_path / "customs", ["TH"])
    path = tmp_path / "customs.json"
    path.write_text(json.dumps({"countries": {"TH": {
        "endpoint": "https://customs.example.th/eco/v1",
        "client_certificate": "tls/worker.pem", "client_key": "tls/worker.key",
        "ca_bundle": "tls/ca.pem", "response_key": "customs/trust/TH.pem",
        "response_deadline": "4h", "status_codes": {"ONAY": "PREFERENCE_GIVEN"},
        "customs_authority": "Thai Customs Department"}}}))
    assert tls.complete() and (trust / "TH.pem").is_file()
    return path


def test_the_file_decides_the_countries_endpoints_codes_and_deadlines(customs_file: Path
                                                                      ) -> None:
    settings = Settings(customs_file=customs_file, sandbox_url="https://sandbox:1")
    registry = CountryRegistry.from_settings(settings)
    assert registry.is_direct("TH") and not registry.is_direct("VN")  # VN: manual channel
    connector = registry.connector_for("TH")
    assert isinstance(connector, HttpCustomsConnector)
    assert connector.base_url == "https://customs.example.th/eco/v1"
    assert registry.map_status("TH", "onay") == "PREFERENCE_GIVEN"  # the file's own code
    assert registry.map_status("TH", "UTILISATION") == "PREFERENCE_GIVEN"  # built-in kept
    effective = with_customs_file(settings, load_customs_file(customs_file))
    assert effective.direct_countries == ("TH",)
    assert effective.deadline_for("TH") == 4 * 3600
    keys = response_keys(settings)
    assert keys == {"TH": customs_file.parent / "customs" / "trust" / "TH.pem"}
    assert load_public_key(Path("/nonexistent"), "TH", keys) is not None


def test_every_problem_is_named_with_its_country_and_field(tmp_path: Path) -> None:
    path = tmp_path / "customs.json"
    path.write_text(json.dumps({"countries": {
        "vn": {"endpoint": "https://x"},
        "TH": {"endpoint": "http://plain", "client_certificate": "missing.pem",
               "response_deadline": "soon", "status_codes": {"OK": "FINE"}, "colour": "red"},
    }}))
    with pytest.raises(ConfigurationError) as caught:
        load_customs_file(path, STATUSES)
    problems = "\n".join(caught.value.problems)
    for text in ("countries.vn: not an ISO 3166-1", "countries.TH.endpoint: must be an https",
                 "countries.TH.client_certificate:", "client_certificate and client_key go",
                 "countries.TH.response_key: required", "response_deadline='soon'",
                 "countries.TH.status_codes.OK: 'FINE' is not one of",
                 "countries.TH.colour: unknown field"):
        assert text in problems, (text, problems)
    assert len(caught.value.problems) == 8


@pytest.mark.parametrize("text", ["[]", '{"countries": {}}', "{", '{"countries": 1}'])
def test_a_file_that_is_not_a_country_table_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "customs.json"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match="ECO_CUSTOMS_FILE"):
        load_customs_file(path)
