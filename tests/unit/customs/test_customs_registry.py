"""The registry of importing countries: connection, fallback and status codes."""

from __future__ import annotations

import asyncio

import pytest

from connectors.customs.http import HttpCustomsConnector
from connectors.customs.memory import InMemoryCustomsConnector
from connectors.customs.registry import COUNTRIES, CountryProfile, CountryRegistry
from pipeline.errors import InvalidInput
from pipeline.settings import Settings

SETTINGS = Settings(sandbox_url="http://sandbox:8443/", callback_url="http://worker:6066")


def test_vn_th_my_are_direct_over_http_to_the_sandbox() -> None:
    registry = CountryRegistry.from_settings(SETTINGS)
    for country in ("VN", "TH", "MY"):
        connector = registry.connector_for(country.lower())
        assert isinstance(connector, HttpCustomsConnector)
        assert connector.base_url == f"http://sandbox:8443/customs/{country}"
        assert connector.callback_url == "http://worker:6066"
        assert registry.is_direct(country)


def test_id_and_ph_are_known_but_go_to_manual_fallback() -> None:
    registry = CountryRegistry.from_settings(SETTINGS)
    assert registry.knows("ID") and registry.knows("PH")
    assert registry.connector_for("ID") is None
    assert registry.connector_for("PH") is None
    assert registry.countries == ("ID", "MY", "PH", "TH", "VN")


def test_unknown_country_has_no_connector() -> None:
    assert CountryRegistry.from_settings(SETTINGS).connector_for("KR") is None


def test_connecting_a_country_is_configuration() -> None:
    settings = Settings(sandbox_url="http://sandbox", direct_countries=("VN", "ID", "KH"))
    registry = CountryRegistry.from_settings(settings, base_urls={"id": "https://insw.example/eco"})
    indonesia = registry.connector_for("ID")
    assert isinstance(indonesia, HttpCustomsConnector)
    assert indonesia.base_url == "https://insw.example/eco"
    assert registry.connector_for("TH") is None
    # A country without a profile still works with the common codes.
    assert registry.knows("KH")
    assert registry.map_status("KH", "ack") == "ACKNOWLEDGED"


@pytest.mark.parametrize(
    ("country", "code", "ours"),
    [
        ("VN", "UTILISATION", "PREFERENCE_GIVEN"),
        ("TH", "receipt", "ACKNOWLEDGED"),
        ("MY", "REJECTION", "PREFERENCE_NOT_GIVEN"),
        ("MY", "VERIFICATION_REQUEST", "VERIFICATION_REQUESTED"),
        ("ID", "FEEDBACK_INFORMATION", "FEEDBACK"),
        ("ID", "ACK", "ACKNOWLEDGED"),
        ("PH", "PREFERENCE_GIVEN", "PREFERENCE_GIVEN"),
        ("VN", " nack ", "TECH_REJECTED"),
    ],
)
def test_status_codes_map_to_ours(country: str, code: str, ours: str) -> None:
    assert CountryRegistry.of().map_status(country, code) == ours


def test_a_country_mapping_overrides_the_common_codes() -> None:
    registry = CountryRegistry.of(
        [CountryProfile("KR", "Korea Customs", {"ACCEPTED": "ACKNOWLEDGED"})]
    )
    assert registry.map_status("KR", "ACCEPTED") == "ACKNOWLEDGED"
    assert COUNTRIES[0].map_status("ACCEPTED") == "PREFERENCE_GIVEN"


def test_unknown_codes_and_countries_are_invalid_input() -> None:
    registry = CountryRegistry.of()
    with pytest.raises(InvalidInput) as caught:
        registry.map_status("VN", "PROBABLY")
    assert caught.value.problems[0].path == "status"
    with pytest.raises(InvalidInput) as caught:
        registry.map_status("ZZ", "ACK")
    assert caught.value.problems[0].path == "country"


def test_in_memory_connectors_plug_in() -> None:
    memory = InMemoryCustomsConnector("TH")
    registry = CountryRegistry.of(COUNTRIES, {"th": memory})
    assert registry.connector_for("TH") is memory
    assert registry.connector_for("VN") is None


def test_close_closes_http_sessions() -> None:
    registry = CountryRegistry.from_settings(SETTINGS)
    asyncio.run(registry.close())  # no session opened yet: closing is a no-op
    connector = registry.connector_for("VN")
    assert isinstance(connector, HttpCustomsConnector)
    assert connector._session is None
