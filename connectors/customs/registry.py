"""The importing countries as data: who they are, how to reach them, and what their codes mean.

No partner publishes its message specification (DOMAIN.md section 7), so each country is a
profile: its customs authority and a mapping of its status codes to ours. Whether a country is
connected directly is configuration (``ECO_DIRECT_COUNTRIES``); a country without a connector
goes to the manual fallback channel, the traditional channel kept in parallel during the pilot.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from connectors.customs.http import DEFAULT_TIMEOUT, HttpCustomsConnector, client_ssl_context
from connectors.customs.protocol import CustomsConnector
from connectors.customs.responses import RESPONSE_STATUSES
from pipeline.customsfile import load_customs_file
from pipeline.errors import InvalidInput, Problem
from pipeline.settings import Settings

# Codes every country may use: ours, and the plain words of the normalised vocabulary.
COMMON_CODES: Mapping[str, str] = MappingProxyType(
    {
        **{status: status for status in RESPONSE_STATUSES},
        "ACK": "ACKNOWLEDGED",
        "RECEIVED": "ACKNOWLEDGED",
        "NACK": "TECH_REJECTED",
        "GIVEN": "PREFERENCE_GIVEN",
        "ACCEPTED": "PREFERENCE_GIVEN",
        "UTILISED": "PREFERENCE_GIVEN",
        "UTILIZED": "PREFERENCE_GIVEN",
        "NOT_GIVEN": "PREFERENCE_NOT_GIVEN",
        "REJECTED": "PREFERENCE_NOT_GIVEN",
    }
)

# ASEAN Single Window notifications: "receipt" and "utilisation" (DOMAIN.md 6.1). The codes for
# rejection and verification are not public yet; these names are placeholders to confirm.
ASW_CODES: Mapping[str, str] = MappingProxyType(
    {
        "RECEIPT": "ACKNOWLEDGED",
        "UTILISATION": "PREFERENCE_GIVEN",
        "UTILIZATION": "PREFERENCE_GIVEN",
        "REJECTION": "PREFERENCE_NOT_GIVEN",
        "VERIFICATION_REQUEST": "VERIFICATION_REQUESTED",
    }
)

# The China-Indonesia e-Form E exchange: e-Form E data, ACK and Feedback Information (DOMAIN 6.2).
CN_ID_CODES: Mapping[str, str] = MappingProxyType(
    {"ACK": "ACKNOWLEDGED", "FEEDBACK": "FEEDBACK", "FEEDBACK_INFORMATION": "FEEDBACK"}
)


@dataclass(frozen=True)
class CountryProfile:
    """An importing country: its customs authority and its own status codes (beyond the common
    ones), mapped to ours."""

    country: str
    customs_authority: str
    status_codes: Mapping[str, str] = field(default_factory=dict)

    def map_status(self, code: str) -> str:
        """Our status for this country's ``code`` (case-insensitive); InvalidInput if unknown."""
        key = code.strip().upper()
        ours = self.status_codes.get(key) or COMMON_CODES.get(key)
        if ours is None:
            raise InvalidInput(
                [Problem("status", f"{code!r} is not a status code of {self.country} customs")],
                f"{self.country} customs response",
            )
        return ours


COUNTRIES: tuple[CountryProfile, ...] = (
    CountryProfile("VN", "General Department of Viet Nam Customs (GDVC)", ASW_CODES),
    CountryProfile("TH", "Thai Customs Department", ASW_CODES),
    CountryProfile("MY", "Royal Malaysian Customs Department (RMCD/JKDM)", ASW_CODES),
    CountryProfile("ID", "Directorate General of Customs and Excise (DJBC)", CN_ID_CODES),
    CountryProfile("PH", "Bureau of Customs (BOC)", ASW_CODES),
)


@dataclass(frozen=True)
class CountryRegistry:
    """The importing countries we know, and the connector of each directly connected one."""

    profiles: Mapping[str, CountryProfile]
    connectors: Mapping[str, CustomsConnector] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        profiles: Iterable[CountryProfile] = COUNTRIES,
        connectors: Mapping[str, CustomsConnector] | None = None,
    ) -> CountryRegistry:
        """A registry of ``profiles``; countries absent from ``connectors`` use manual fallback."""
        by_country = {p.country.upper(): p for p in profiles}
        wired = {c.upper(): conn for c, conn in (connectors or {}).items()}
        for country in wired:
            by_country.setdefault(country, CountryProfile(country, f"{country} customs"))
        return cls(MappingProxyType(by_country), MappingProxyType(wired))

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        base_urls: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        profiles: Iterable[CountryProfile] = COUNTRIES,
    ) -> CountryRegistry:
        """HTTP connectors for ``settings.direct_countries``; each country's base URL comes from
        ``base_urls``, else ``{settings.sandbox_url}/customs/{COUNTRY}``. With
        ``ECO_CUSTOMS_FILE`` the countries, endpoints, TLS and status codes come from the file
        (:func:`from_customs_file`) instead of the sandbox."""
        if settings.customs_file is not None:
            return from_customs_file(settings, timeout=timeout, profiles=profiles)
        urls = {c.upper(): url for c, url in (base_urls or {}).items()}
        connectors: dict[str, CustomsConnector] = {
            country: HttpCustomsConnector(
                country,
                urls.get(country, f"{settings.sandbox_url.rstrip('/')}/customs/{country}"),
                settings.callback_url,
                ssl_context=ssl_context,
                timeout=timeout,
            )
            for country in (c.upper() for c in settings.direct_countries)
        }
        return cls.of(profiles, connectors)

    @property
    def countries(self) -> tuple[str, ...]:
        """Every country this registry knows, connected or not."""
        return tuple(sorted(self.profiles))

    def knows(self, country: str) -> bool:
        """True if ``country`` has a profile here."""
        return country.upper() in self.profiles

    def is_direct(self, country: str) -> bool:
        """True if ``country`` is connected directly (it has a connector)."""
        return country.upper() in self.connectors

    def connector_for(self, country: str) -> CustomsConnector | None:
        """The connector for ``country``, or None: use the manual fallback channel."""
        return self.connectors.get(country.upper())

    def map_status(self, country: str, code: str) -> str:
        """Our status for ``country``'s status ``code``; InvalidInput for an unknown country or
        code."""
        profile = self.profiles.get(country.upper())
        if profile is None:
            raise InvalidInput(
                [Problem("country", f"{country!r} is not a known importing country")],
                "customs response",
            )
        return profile.map_status(code)

    async def close(self) -> None:
        """Close the connectors' HTTP sessions."""
        for connector in self.connectors.values():
            if isinstance(connector, HttpCustomsConnector):
                await connector.close()


def from_customs_file(settings: Settings, *, timeout: float = DEFAULT_TIMEOUT,
                      profiles: Iterable[CountryProfile] = COUNTRIES) -> CountryRegistry:
    """The countries of ``ECO_CUSTOMS_FILE``: each one's endpoint over mutual TLS with its own
    CA bundle and client certificate, its status codes on top of the built-in profile."""
    assert settings.customs_file is not None
    endpoints = load_customs_file(settings.customs_file, frozenset(RESPONSE_STATUSES))
    known = {p.country: p for p in profiles}
    merged = dict(known)
    connectors: dict[str, CustomsConnector] = {}
    for country, endpoint in endpoints.items():
        base = known.get(country, CountryProfile(country, f"{country} customs"))
        merged[country] = CountryProfile(
            country, endpoint.customs_authority or base.customs_authority,
            {**base.status_codes, **endpoint.status_codes})
        context = client_ssl_context(endpoint.ca_bundle, endpoint.client_certificate,
                                     endpoint.client_key)
        connectors[country] = HttpCustomsConnector(country, endpoint.endpoint,
                                                   settings.callback_url, ssl_context=context,
                                                   timeout=timeout)
    return CountryRegistry.of(merged.values(), connectors)
