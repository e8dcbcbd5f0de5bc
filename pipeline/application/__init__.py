"""The application for a certificate of origin: its document model, parser and loader.

``parse_application`` turns a decoded JSON document (v1, INTERFACES.md) into
frozen values or raises ``InvalidApplication`` listing every structural problem
by JSON path; ``load_application`` reads a file.
"""

from pipeline.application.agreement import PARTIES, Agreement, known_hs_chapter
from pipeline.application.load import decode_application, load_application
from pipeline.application.model import (
    Application,
    BackToBack,
    Costs,
    Declaration,
    Exhibition,
    Invoice,
    Item,
    Material,
    MaterialRole,
    Money,
    OriginalItem,
    Packages,
    Party,
    Quantity,
    RvcMethod,
    ThirdPartyInvoicing,
    Transit,
    Transport,
)
from pipeline.application.parse import parse_application

__all__ = [
    "PARTIES",
    "Agreement",
    "Application",
    "BackToBack",
    "Costs",
    "Declaration",
    "Exhibition",
    "Invoice",
    "Item",
    "Material",
    "MaterialRole",
    "Money",
    "OriginalItem",
    "Packages",
    "Party",
    "Quantity",
    "RvcMethod",
    "ThirdPartyInvoicing",
    "Transit",
    "Transport",
    "decode_application",
    "known_hs_chapter",
    "load_application",
    "parse_application",
]
