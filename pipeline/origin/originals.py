"""The original certificate of a back-to-back certificate, read from its signed XML.

The signature is verified against the trust registry first (Form E Rule 3): quantities
are taken only from a certificate an issuing authority signed. Each item's quantity is
its ``Quantity`` (with its unit) or, failing that, its gross weight in KGM.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pipeline.certificate.safexml import parse_xml
from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.verification import ECO, verify_certificate
from pipeline.errors import InvalidInput, Problem
from pipeline.origin.backtoback import OriginalCertificate, OriginalLine, OriginalSource


def original_from_xml(
    xml: bytes, trust: TrustRegistry, source: OriginalSource
) -> OriginalCertificate:
    """The original's number, issue date and items; SignatureInvalid when it does not verify
    against ``trust``, InvalidInput when an item has no quantity."""
    verified = verify_certificate(xml, trust)
    root = parse_xml(xml, source="original certificate")
    lines = []
    for index, item in enumerate(root.iter(f"{ECO}Item")):
        number = int(item.findtext(f"{ECO}ItemNumber") or index + 1)
        hs_code = item.findtext(f"{ECO}HSCode") or item.findtext(f"{ECO}Goods/{ECO}HSCode")
        measures = item.find(f"{ECO}QuantityAndValue")
        measure = None
        if measures is not None:
            measure = measures.find(f"{ECO}Quantity")
            if measure is None:
                measure = measures.find(f"{ECO}GrossWeight")
        text = (measure.text or "").strip() if measure is not None else ""
        if measure is None or not text:
            raise InvalidInput([Problem(f"Item[{number}]", "the original item has no quantity "
                                        "or gross weight to draw on")], verified.number)
        try:
            quantity = Decimal(text)
        except InvalidOperation:
            raise InvalidInput([Problem(f"Item[{number}]", f"quantity {text!r} is not "
                                        "a number")], verified.number) from None
        lines.append(OriginalLine(number, hs_code, quantity, measure.get("unit") or "KGM"))
    return OriginalCertificate(verified.number, source, tuple(lines), verified.issued_at.date())
