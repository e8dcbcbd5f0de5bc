"""The application document (JSON v1) as frozen values.

Every field the examination may need is optional here (``None`` when absent):
the parser only refuses what cannot be examined at all, and the examination
says which missing business data keeps it from deciding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pipeline.application.agreement import Agreement


class RvcMethod(StrEnum):
    """How the regional value content is computed (RCEP Art. 3.5; ACFTA Rule 4)."""

    BUILD_DOWN = "build-down"
    BUILD_UP = "build-up"


@dataclass(frozen=True)
class Party:
    """An exporter, producer or importer: Boxes 1-3 of the certificate."""

    country: str | None
    name: str | None = None
    address: str | None = None
    id: str | None = None
    registration_number: str | None = None


@dataclass(frozen=True)
class Transit:
    """A port of transit on the route (direct consignment, RCEP Art. 3.15)."""

    port: str | None = None
    country: str | None = None
    non_manipulation_document: str | None = None


@dataclass(frozen=True)
class Transport:
    """Means of transport and route, "as far as known" (Form E Box 3; RCEP Box 4)."""

    departure_date: date | None = None
    vessel: str | None = None
    port_of_loading: str | None = None
    port_of_discharge: str | None = None
    transit: tuple[Transit, ...] = ()


@dataclass(frozen=True)
class Invoice:
    """An invoice number and date (Form E Box 10; RCEP Box 13)."""

    number: str | None = None
    date: date | None = None


@dataclass(frozen=True)
class ThirdPartyInvoicing:
    """The invoicing company when it is not the exporter (RCEP Art. 3.20; Form E Box 13)."""

    name: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class OriginalItem:
    """An item of the original certificate as the application declares it (used for the
    draw-down when the original's signed XML is not at hand)."""

    item_no: int
    hs_code: str | None = None
    quantity: Quantity | None = None


@dataclass(frozen=True)
class BackToBack:
    """The original proof a back-to-back (movement) certificate rests on (RCEP Art. 3.19;
    Form E Rule 1, movement certificate). ``original_xml`` is the original's signed XML when
    the exporter supplies it; ``original_items`` its items when it does not."""

    original_certificate: str | None = None
    original_issue_date: date | None = None
    original_country: str | None = None
    original_xml: str | None = None
    original_items: tuple[OriginalItem, ...] = ()


@dataclass(frozen=True)
class Exhibition:
    """The exhibition goods were sent to and sold at (Form E Box 13)."""

    name: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Packages:
    """Number and kind of packages (Form E Box 7; RCEP Box 8)."""

    count: int | None = None
    kind: str | None = None


@dataclass(frozen=True)
class Quantity:
    """A quantity with its unit of measure, such as 1200 PCE."""

    value: Decimal | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Money:
    """An amount in a currency; every amount of one application shares the FOB currency."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Costs:
    """Costs added to the originating materials in the build-up RVC; absent ones count as zero."""

    direct_labour: Decimal | None = None
    direct_overhead: Decimal | None = None
    profit: Decimal | None = None
    other: Decimal | None = None

    @property
    def total(self) -> Decimal:
        """The sum of the cost components that are given."""
        parts = (self.direct_labour, self.direct_overhead, self.profit, self.other)
        return sum((p for p in parts if p is not None), Decimal(0))


class MaterialRole(StrEnum):
    """What a material is to the good (RCEP Articles 3.8 and 3.9; ACFTA Rules 10 and 11).

    Packing for retail sale classified with the good, and accessories, spare parts and tools
    delivered with it, are disregarded for the tariff shift and counted in the RVC; packing
    and containers for transport are disregarded altogether.
    """

    MATERIAL = "material"
    PACKING_RETAIL = "packing-retail"
    PACKING_TRANSPORT = "packing-transport"
    ACCESSORY = "accessory"

    @property
    def counts_for_tariff_shift(self) -> bool:
        """Only ordinary materials take part in WO, PE, CC/CTH/CTSH and process tests."""
        return self is MaterialRole.MATERIAL

    @property
    def counts_for_value(self) -> bool:
        """Everything but transport packing counts in the RVC (RCEP Art. 3.8.1)."""
        return self is not MaterialRole.PACKING_TRANSPORT


@dataclass(frozen=True)
class Material:
    """A material used to produce an item; ``origin_country`` is None when unknown."""

    hs_code: str | None = None
    description: str | None = None
    origin_country: str | None = None
    originating: bool | None = None
    value: Decimal | None = None
    weight_kg: Decimal | None = None
    supplier_declaration: str | None = None
    role: MaterialRole = MaterialRole.MATERIAL


@dataclass(frozen=True)
class Item:
    """One good on the certificate; each item qualifies in its own right (Form E Rule 7(e)).

    ``materials`` is None when the document has no ``materials`` key at all,
    and an empty tuple when it declares that there are none.
    """

    item_no: int
    hs_code: str
    description: str | None = None
    marks: str | None = None
    packages: Packages | None = None
    quantity: Quantity | None = None
    gross_weight_kg: Decimal | None = None
    fob: Money | None = None
    wholly_obtained: bool | None = None
    processes: tuple[str, ...] = ()
    rvc_method: RvcMethod | None = None
    costs: Costs | None = None
    materials: tuple[Material, ...] | None = None
    original_item_no: int | None = None


@dataclass(frozen=True)
class Declaration:
    """The exporter's declaration: place, date and signatory (Form E Box 11; RCEP Box 15)."""

    place: str | None = None
    date: date | None = None
    signatory: str | None = None


@dataclass(frozen=True)
class Application:
    """An application for a certificate of origin (Form E Rule 6; RCEP Art. 3.17).

    ``document`` keeps the original object as received; ``application_id`` is
    the client's idempotency key when it gave one.
    """

    agreement: Agreement
    exporter: Party
    importer: Party
    items: tuple[Item, ...]
    application_id: str | None = None
    issuing_office: str | None = None
    producer: Party | None = None
    transport: Transport | None = None
    invoices: tuple[Invoice, ...] | None = None
    third_party_invoicing: ThirdPartyInvoicing | None = None
    back_to_back: BackToBack | None = None
    issued_retroactively: bool | None = None
    exhibition: Exhibition | None = None
    declaration: Declaration | None = None
    source: str = ""
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def exporting_party(self) -> str:
        """The Party where the goods are produced and from which they are exported."""
        return self.exporter.country or ""

    @property
    def currency(self) -> str | None:
        """The currency of the FOB values, shared by every amount of the application."""
        return next((i.fob.currency for i in self.items if i.fob is not None), None)
