"""Back-to-back (movement) certificates and the draw-down of the original's quantities.

A back-to-back certificate issued in an intermediate Party may not cover more than what is
left of the original certificate's quantities, item by item (RCEP Art. 3.19.1(d): partial
shipments do not exceed the original quantity; Form E Rule 1 and Box 13, movement
certificate). The balance is kept per original certificate and item; a draw that would
exceed it is refused with the figures.

Where the original's data comes from, best first:

* its signed XML, issued here or supplied by the exporter, verified against the trust
  registry (``original_from_xml``);
* otherwise the application's ``back_to_back.original_items``, marked as declared and not
  verified (``original_from_application``).

Everything here is pure: the stage keeps the ``Balance`` in a Kafka-backed table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pipeline.application import Application
from pipeline.errors import InvalidApplication, Problem

RULE = "RCEP Art. 3.19; Form E movement certificate"


class OriginalSource(StrEnum):
    """Where the original certificate's quantities were read."""

    ISSUED_HERE = "its signed XML, issued here"
    SUPPLIED = "its signed XML, supplied and verified against the trust registry"
    APPLICATION = "the application's declaration, not verified against the original"


@dataclass(frozen=True)
class OriginalLine:
    """One item of the original certificate and its quantity."""

    item_no: int
    hs_code: str | None
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class OriginalCertificate:
    """The original proof of origin a back-to-back certificate draws on."""

    number: str
    source: OriginalSource
    items: tuple[OriginalLine, ...]
    issued_on: date | None = None


@dataclass(frozen=True)
class ItemBalance:
    """What is left of one item of the original."""

    item_no: int
    hs_code: str | None
    unit: str
    original: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class Draw:
    """One back-to-back application's draw: quantities by original item."""

    application_id: str
    quantities: tuple[tuple[int, Decimal], ...]


@dataclass(frozen=True)
class Balance:
    """The remaining quantities of one original certificate, and the draws made on it."""

    number: str
    source: OriginalSource
    items: tuple[ItemBalance, ...]
    draws: tuple[Draw, ...] = ()
    returned: tuple[str, ...] = ()  # applications whose draw was given back

    def drew(self, application_id: str) -> bool:
        """Whether ``application_id`` has drawn on this original (or was given back)."""
        return application_id in self.returned or any(
            d.application_id == application_id for d in self.draws)

    def carry(self, draws: Iterable[Draw]) -> Balance:
        """The balance with the draws made on a version this one superseded (RCEP Art.
        3.19.1(d): the shipments together still may not exceed the original); a draw already
        counted, or on an item this version does not have, changes nothing."""
        items = {i.item_no: i for i in self.items}
        kept = list(self.draws)
        for draw in draws:
            if self.drew(draw.application_id):
                continue
            counted = tuple((n, q) for n, q in draw.quantities if n in items)
            for n, q in counted:
                items[n] = replace(items[n], remaining=items[n].remaining - q)
            kept.append(Draw(draw.application_id, counted))
        return replace(self, items=tuple(items[i.item_no] for i in self.items),
                       draws=tuple(kept))

    def give_back(self, application_id: str) -> Balance:
        """The balance with the draw of ``application_id`` returned (its back-to-back
        certificate was revoked); unchanged when it drew nothing here."""
        draw = next((d for d in self.draws if d.application_id == application_id), None)
        if draw is None:
            return self
        back = dict(draw.quantities)
        items = tuple(replace(i, remaining=i.remaining + back.get(i.item_no, Decimal(0)))
                      for i in self.items)
        return replace(self, items=items,
                       draws=tuple(d for d in self.draws if d is not draw),
                       returned=(*self.returned, application_id))

    @classmethod
    def opening(cls, original: OriginalCertificate) -> Balance:
        """The balance before any draw: every item's full quantity."""
        items = tuple(
            ItemBalance(i.item_no, i.hs_code, i.unit, i.quantity, i.quantity)
            for i in original.items
        )
        return cls(original.number, original.source, items)

    def item(self, item_no: int) -> ItemBalance | None:
        """The balance of the original's item ``item_no``."""
        return next((i for i in self.items if i.item_no == item_no), None)

    def to_json(self) -> dict[str, Any]:
        """A plain JSON value for the stage's table."""
        return {
            "number": self.number,
            "source": self.source.name,
            "items": [
                {"item_no": i.item_no, "hs_code": i.hs_code, "unit": i.unit,
                 "original": str(i.original), "remaining": str(i.remaining)}
                for i in self.items
            ],
            "draws": [
                {"application_id": d.application_id,
                 "quantities": [[n, str(q)] for n, q in d.quantities]}
                for d in self.draws
            ],
            "returned": list(self.returned),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Balance:
        """Read a balance written by ``to_json``."""
        return cls(
            str(data["number"]),
            OriginalSource[str(data["source"])],
            tuple(
                ItemBalance(int(i["item_no"]), i.get("hs_code"), str(i["unit"]),
                            Decimal(i["original"]), Decimal(i["remaining"]))
                for i in data["items"]
            ),
            tuple(
                Draw(str(d["application_id"]),
                     tuple((int(n), Decimal(q)) for n, q in d["quantities"]))
                for d in data.get("draws", ())
            ),
            tuple(str(a) for a in data.get("returned", ())),
        )


@dataclass(frozen=True)
class DrawLine:
    """A back-to-back item and the quantity it draws from an item of the original."""

    item_no: int
    original_item_no: int
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class DrawDownRequest:
    """What one back-to-back application draws from its original."""

    application_id: str
    original_number: str
    lines: tuple[DrawLine, ...]


@dataclass(frozen=True)
class Overdraw:
    """The figures of one original item a draw would overdraw."""

    original_item_no: int
    item_nos: tuple[int, ...]
    unit: str
    asked: Decimal
    remaining: Decimal
    original: Decimal

    @property
    def drawn_before(self) -> Decimal:
        return self.original - self.remaining

    def to_json(self) -> dict[str, Any]:
        """The event's ``OverdrawnItem``: quantities as exact decimal text."""
        return {"original_item_no": self.original_item_no, "item_nos": list(self.item_nos),
                "unit": self.unit, "asked": _show(self.asked),
                "remaining": _show(self.remaining), "original": _show(self.original),
                "drawn_before": _show(self.drawn_before)}


@dataclass(frozen=True)
class DrawDownResult:
    """Accepted with the new balance, or refused with the figures (the balance unchanged).
    ``replay`` is true when the application had drawn already: nothing is drawn twice."""

    accepted: bool
    balance: Balance
    refusals: tuple[str, ...] = ()
    replay: bool = False
    overdraws: tuple[Overdraw, ...] = ()

    @property
    def reason(self) -> str:
        """One sentence for the exporter: what was refused, or what is left."""
        if not self.accepted:
            return "; ".join(self.refusals)
        left = ", ".join(
            f"item {i.item_no}: {_show(i.remaining)} of {_show(i.original)} {i.unit}"
            for i in self.balance.items
        )
        return f"drawn on {self.balance.number} ({RULE}); left {left}"


def _show(value: Decimal) -> str:
    return f"{value.normalize():f}"


def draw_down(balance: Balance, request: DrawDownRequest) -> DrawDownResult:
    """Draw ``request`` from ``balance`` item by item, or refuse it with the figures when an
    item would exceed what is left, has another unit, or is not on the original."""
    if balance.drew(request.application_id):
        return DrawDownResult(True, balance, replay=True)
    wanted: dict[int, Decimal] = {}
    drawing: dict[int, list[int]] = {}
    refusals: list[str] = []
    overdraws: list[Overdraw] = []
    for line in request.lines:
        item = balance.item(line.original_item_no)
        if item is None:
            known = ", ".join(str(i.item_no) for i in balance.items)
            refusals.append(
                f"item {line.item_no} draws on item {line.original_item_no}, which "
                f"{balance.number} does not have (items {known})"
            )
            continue
        if line.unit.upper() != item.unit.upper():
            refusals.append(
                f"item {line.item_no} is in {line.unit}, item {item.item_no} of "
                f"{balance.number} in {item.unit}"
            )
            continue
        wanted[item.item_no] = wanted.get(item.item_no, Decimal(0)) + line.quantity
        drawing.setdefault(item.item_no, []).append(line.item_no)
    for item_no, quantity in wanted.items():
        item = balance.item(item_no)
        assert item is not None
        if quantity > item.remaining:
            drawn = item.original - item.remaining
            refusals.append(
                f"overdraw of {balance.number} item {item_no}: {_show(quantity)} {item.unit} "
                f"asked, {_show(item.remaining)} {item.unit} left of {_show(item.original)} "
                f"({_show(drawn)} drawn before) ({RULE})"
            )
            overdraws.append(Overdraw(item_no, tuple(drawing[item_no]), item.unit, quantity,
                                      item.remaining, item.original))
    if refusals:
        return DrawDownResult(False, balance, tuple(refusals), overdraws=tuple(overdraws))
    items = tuple(
        replace(i, remaining=i.remaining - wanted.get(i.item_no, Decimal(0)))
        for i in balance.items
    )
    draw = Draw(request.application_id, tuple(sorted(wanted.items())))
    return DrawDownResult(True, replace(balance, items=items, draws=(*balance.draws, draw)))


def _quantity_of(app: Application, index: int) -> tuple[Decimal, str] | None:
    item = app.items[index]
    if item.quantity is not None and item.quantity.value is not None and item.quantity.unit:
        return item.quantity.value, item.quantity.unit
    if item.gross_weight_kg is not None:
        return item.gross_weight_kg, "KGM"
    return None


def drawdown_request(
    app: Application, application_id: str, original: Iterable[OriginalLine] | Balance
) -> DrawDownRequest:
    """The draw of a back-to-back application: each item draws on the original's item it
    names (``original_item_no``), else on the only one of the same HS code; InvalidApplication
    says which item cannot be matched or has no quantity."""
    if app.back_to_back is None or not app.back_to_back.original_certificate:
        raise InvalidApplication(
            [Problem("back_to_back.original_certificate", "a back-to-back certificate needs "
                     "the original's number")], app.source)
    lines_of = [
        (i.item_no, i.hs_code) for i in (original.items if isinstance(original, Balance)
                                         else original)
    ]
    problems: list[Problem] = []
    lines: list[DrawLine] = []
    for index, item in enumerate(app.items):
        path = f"items[{index}]"
        number = item.original_item_no
        if number is None:
            same = [n for n, hs in lines_of if hs == item.hs_code]
            if len(same) != 1:
                problems.append(Problem(f"{path}.original_item_no", (
                    f"say which item of the original this item draws on: "
                    f"{len(same)} items of the original have HS {item.hs_code}")))
                continue
            number = same[0]
        measured = _quantity_of(app, index)
        if measured is None:
            problems.append(Problem(f"{path}.quantity", "the quantity drawn from the original "
                                    "is needed (a quantity or the gross weight)"))
            continue
        lines.append(DrawLine(item.item_no, number, measured[0], measured[1]))
    if problems:
        raise InvalidApplication(problems, app.source)
    return DrawDownRequest(application_id, app.back_to_back.original_certificate, tuple(lines))


def original_from_application(app: Application) -> OriginalCertificate:
    """The original as the application declares it (``back_to_back.original_items``),
    marked as not verified; InvalidApplication when it declares none."""
    block = app.back_to_back
    if block is None or not block.original_certificate or not block.original_items:
        raise InvalidApplication([Problem(
            "back_to_back.original_items",
            "the original certificate's items and quantities are needed for the draw-down "
            "when its signed XML is neither issued here nor supplied (original_xml)")],
            app.source)
    lines = tuple(
        OriginalLine(i.item_no, i.hs_code, i.quantity.value, i.quantity.unit)
        for i in block.original_items
        if i.quantity is not None and i.quantity.value is not None and i.quantity.unit
    )
    return OriginalCertificate(
        block.original_certificate, OriginalSource.APPLICATION, lines, block.original_issue_date
    )


@dataclass(frozen=True)
class DrawCheck:
    """What the examination says about a back-to-back application's draw (``eco check``)."""

    notes: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


def check_draw(app: Application) -> DrawCheck:
    """The draw against the original as the application presents it: refused when it alone
    exceeds the original; earlier draws are counted at issuance, from the kept balance."""
    block = app.back_to_back
    if block is None or not block.original_certificate:
        return DrawCheck()
    if block.original_xml:
        return DrawCheck(notes=(
            f"back-to-back: the draw-down on {block.original_certificate} reads the original's "
            "quantities from the supplied signed XML at issuance, once it verifies against the "
            f"trust registry ({RULE})",
        ))
    try:
        original = original_from_application(app)
        request = drawdown_request(app, app.application_id or "check", original.items)
    except InvalidApplication as exc:
        return DrawCheck(problems=exc.problems)
    result = draw_down(Balance.opening(original), request)
    if not result.accepted:
        return DrawCheck(refusals=result.refusals)
    return DrawCheck(notes=(
        f"back-to-back: {result.reason}, against the original as declared in the application "
        "(not verified against it); earlier draws on it are counted at issuance",
    ))
