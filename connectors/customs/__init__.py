"""Customs connectors: delivering certificates to importing customs and receiving their answers.

``protocol``   the CustomsConnector seam, Delivery, Clarification, Receipt
``http``       the reference HTTP(S) + XML connector (optionally mutual TLS)
``registry``   the importing countries as data: connection, fallback, status-code mapping
``memory``     an in-memory connector for unit tests
``responses``  CustomsResponse and its JSON wire format
``receiver``   the aiohttp route ``POST /v1/customs/{country}/responses``
``scenarios``  ``sandbox``  the sandbox customs of VN, TH and MY used by the demo and the tests
"""

from connectors.customs.protocol import (
    Clarification,
    CustomsConnector,
    Delivery,
    Receipt,
)
from connectors.customs.registry import CountryProfile, CountryRegistry
from connectors.customs.responses import Box4Reason, CustomsResponse, parse_response

__all__ = [
    "Box4Reason",
    "Clarification",
    "CountryProfile",
    "CountryRegistry",
    "CustomsConnector",
    "CustomsResponse",
    "Delivery",
    "Receipt",
    "parse_response",
]
