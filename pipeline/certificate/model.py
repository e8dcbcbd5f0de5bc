"""Plain values the certificate document is made from and reports: the issuing office, the
origin determination of each item, and what a successful verification established."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# Criteria under which Box 9 (Form E) / Box 12 (RCEP) must show the FOB value.
RVC_CRITERIA = frozenset({"RVC"})


@dataclass(frozen=True)
class IssuingOffice:
    """An office of an issuing authority (Form E Rule 2) that numbers and signs certificates.

    ``code`` is the project's office code, for example ``CN-SZX``; ``country`` is ISO 3166 alpha-2.
    """

    code: str
    name: str
    address: str
    country: str

    def __post_init__(self) -> None:
        if not self.code.strip() or not self.name.strip():
            raise ValueError("an issuing office needs a code and a name")
        if len(self.country) != 2 or not self.country.isalpha() or not self.country.isupper():
            raise ValueError(f"issuing office country {self.country!r} is not ISO 3166 alpha-2")


@dataclass(frozen=True)
class ItemCriterion:
    """The origin determination of one item, as printed in Form E Box 8 / RCEP Box 10.

    ``criterion`` is the rule met (WO, PE, CC, CTH, CTSH, RVC, ...), ``box`` the text printed
    (``CTH``, ``55%``, ``CTC, ACU``). The FOB value is shown only where RVC is the criterion
    (Form E Box 9 since 2019; RCEP Box 12), so ``fob_shown`` must say exactly that.
    ``country_of_origin`` is RCEP Box 11; by default the exporter's country.
    """

    item_no: int
    criterion: str
    box: str
    fob_shown: bool
    rvc_percent: Decimal | None = None
    country_of_origin: str | None = None

    def __post_init__(self) -> None:
        if self.item_no < 1:
            raise ValueError(f"item_no {self.item_no} must be 1 or more")
        if not self.criterion.strip() or not self.box.strip():
            raise ValueError(f"item {self.item_no}: criterion and box text are required")
        is_rvc = self.criterion in RVC_CRITERIA
        if self.fob_shown != is_rvc:
            raise ValueError(
                f"item {self.item_no}: the FOB value is shown if and only if RVC is the "
                f"criterion (criterion {self.criterion!r}, fob_shown={self.fob_shown})"
            )
        if is_rvc and self.rvc_percent is None:
            raise ValueError(f"item {self.item_no}: an RVC criterion needs rvc_percent")
        if self.rvc_percent is not None and not self.rvc_percent.is_finite():
            raise ValueError(f"item {self.item_no}: rvc_percent must be a finite number")


@dataclass(frozen=True)
class VerifiedCertificate:
    """What a successful verification established about a signed certificate."""

    number: str
    version: int
    agreement: str
    issuing_office: IssuingOffice
    issued_at: datetime
    signer_subject: str
    authority: str
    supersedes: str | None = None
