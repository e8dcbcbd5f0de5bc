"""Back-to-back (movement) certificates draw down the original's quantities item by item
(RCEP Art. 3.19.1(d); Form E movement certificate)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.drawdown import issued_here
from pipeline.application import parse_application
from pipeline.certificate.devpki import DEV_OFFICES, DevPki, generate_dev_pki
from pipeline.certificate.document import build_certificate
from pipeline.certificate.model import ItemCriterion
from pipeline.certificate.signing import sign_certificate
from pipeline.certificate.trust import TrustRegistry
from pipeline.errors import InvalidApplication, SignatureInvalid
from pipeline.origin import Examination, default_rulebook, examine
from pipeline.origin.backtoback import (
    Balance,
    DrawDownRequest,
    DrawLine,
    OriginalCertificate,
    OriginalLine,
    OriginalSource,
    draw_down,
    drawdown_request,
    original_from_application,
)
from pipeline.origin.originals import original_from_xml

SAMPLES = Path(__file__).parents[3] / "samples"
ORIGINAL = OriginalCertificate(
    "E264403165010001",
    OriginalSource.APPLICATION,
    (OriginalLine(1, "851671", Decimal(1000), "PCE"), OriginalLine(2, "851679", Decimal(50),
                                                                    "KGM")),
)


def _request(app_id: str, *lines: tuple[int, str, str]) -> DrawDownRequest:
    return DrawDownRequest(
        app_id, ORIGINAL.number,
        tuple(DrawLine(n, n, Decimal(q), unit) for n, q, unit in lines),
    )


def test_draws_reduce_the_balance_item_by_item() -> None:
    """RCEP Art. 3.19.1(d): partial shipments are drawn from the original's quantities."""
    first = draw_down(Balance.opening(ORIGINAL), _request("A-1", (1, "600", "PCE")))
    assert first.accepted
    assert [i.remaining for i in first.balance.items] == [Decimal(400), Decimal(50)]
    second = draw_down(first.balance, _request("A-2", (1, "400", "PCE"), (2, "50", "KGM")))
    assert second.accepted and [i.remaining for i in second.balance.items] == [0, 0]
    assert "left item 1: 0 of 1000 PCE" in second.reason


def test_an_overdraw_is_refused_with_the_figures_and_the_balance_kept() -> None:
    """RCEP Art. 3.19.1(d): no more than what is left of the original, item by item."""
    drawn = draw_down(Balance.opening(ORIGINAL), _request("A-1", (1, "600", "PCE"))).balance
    refused = draw_down(drawn, _request("A-2", (1, "500", "PCE")))
    assert not refused.accepted and refused.balance == drawn
    assert refused.reason == (
        "overdraw of E264403165010001 item 1: 500 PCE asked, 400 PCE left of 1000 (600 drawn "
        "before) (RCEP Art. 3.19; Form E movement certificate)"
    )


def test_a_replayed_draw_is_not_drawn_twice() -> None:
    drawn = draw_down(Balance.opening(ORIGINAL), _request("A-1", (1, "600", "PCE")))
    again = draw_down(drawn.balance, _request("A-1", (1, "600", "PCE")))
    assert again.accepted and again.replay and again.balance == drawn.balance


def test_unknown_items_and_other_units_are_refused() -> None:
    result = draw_down(Balance.opening(ORIGINAL), _request("A-1", (3, "1", "PCE"),
                                                           (2, "5", "PCE")))
    assert not result.accepted
    assert any("does not have (items 1, 2)" in r for r in result.refusals)
    assert any("in PCE, item 2 of E264403165010001 in KGM" in r for r in result.refusals)


def test_balances_survive_their_table() -> None:
    drawn = draw_down(Balance.opening(ORIGINAL), _request("A-1", (1, "0.5", "PCE"))).balance
    assert Balance.from_json(json.loads(json.dumps(drawn.to_json()))) == drawn


@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=12))
def test_the_balance_never_goes_below_zero_and_sums_the_draws(quantities: list[int]) -> None:
    """RCEP Art. 3.19.1(d) as arithmetic: accepted draws never exceed the original."""
    balance = Balance.opening(ORIGINAL)
    accepted = 0
    for n, quantity in enumerate(quantities):
        result = draw_down(balance, _request(f"A-{n}", (1, str(quantity), "PCE")))
        assert result.accepted == (accepted + quantity <= 1000)
        if result.accepted:
            accepted += quantity
        balance = result.balance
    remaining = balance.item(1)
    assert remaining is not None and remaining.remaining == 1000 - accepted >= 0


def _back_to_back_document(**block: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SAMPLES / "02-acfta-kettles-th.json").read_text())
    document["back_to_back"] = {
        "original_certificate": "E264403165010001",
        "original_issue_date": "2026-04-01",
        "original_country": "VN",
        **block,
    }
    return document


def test_the_application_declares_the_original_when_its_xml_is_not_at_hand() -> None:
    document = _back_to_back_document(original_items=[
        {"item_no": 1, "hs_code": "851671", "quantity": {"value": "5000", "unit": "PCE"}}
    ])
    app = parse_application(document)
    original = original_from_application(app)
    assert original.source is OriginalSource.APPLICATION
    assert "not verified" in original.source.value
    request = drawdown_request(app, "APP-9", original.items)
    [line] = request.lines
    quantity = app.items[0].quantity
    assert quantity is not None and line.quantity == quantity.value
    assert (line.original_item_no, line.unit) == (1, quantity.unit)


def test_without_the_originals_data_the_application_is_refused_with_the_path() -> None:
    app = parse_application(_back_to_back_document())
    with pytest.raises(InvalidApplication) as caught:
        original_from_application(app)
    assert caught.value.problems[0].path == "back_to_back.original_items"


def test_an_ambiguous_item_must_name_its_original_item() -> None:
    app = parse_application(_back_to_back_document())
    lines = (OriginalLine(1, "851671", Decimal(1), "PCE"), OriginalLine(2, "851671",
                                                                        Decimal(1), "PCE"))
    with pytest.raises(InvalidApplication) as caught:
        drawdown_request(app, "APP-9", lines)
    assert caught.value.problems[0].path == "items[0].original_item_no"
    named = copy.deepcopy(_back_to_back_document())
    named["items"][0]["original_item_no"] = 2
    assert drawdown_request(parse_application(named), "A", lines).lines[0].original_item_no == 2


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return generate_dev_pki(tmp_path_factory.mktemp("pki"), DEV_OFFICES[:2], algorithm="ecdsa")


def _signed_original(pki: DevPki) -> bytes:
    document = json.loads((SAMPLES / "02-acfta-kettles-th.json").read_text())
    office = pki.offices[0]
    document["issuing_office"] = office.code
    xml = build_certificate(
        document, [ItemCriterion(1, "RVC", "55%", fob_shown=True, rvc_percent=Decimal(55))],
        number="E264403165010007", version=1,
        issued_at=datetime(2026, 5, 9, 10, 30, tzinfo=timezone(timedelta(hours=8))),
        issuing_office=office,
    )
    return sign_certificate(xml, pki.signing_key(office.code))


def test_the_originals_signed_xml_gives_verified_quantities(pki: DevPki) -> None:
    """Form E Rule 3: quantities are read only from a certificate the registry trusts."""
    original = original_from_xml(
        _signed_original(pki), TrustRegistry.from_dir(pki.trust_dir), OriginalSource.SUPPLIED
    )
    sample = json.loads((SAMPLES / "02-acfta-kettles-th.json").read_text())
    quantity = sample["items"][0]["quantity"]
    assert original.number == "E264403165010007"
    assert original.items == (
        OriginalLine(1, "851671", Decimal(quantity["value"]), quantity["unit"]),
    )


def test_a_tampered_original_is_refused(pki: DevPki) -> None:
    xml = _signed_original(pki).replace(b">E264403165010007<", b">E264403165010008<")
    with pytest.raises(SignatureInvalid):
        original_from_xml(xml, TrustRegistry.from_dir(pki.trust_dir), OriginalSource.SUPPLIED)


def _examine(document: dict[str, Any]) -> Examination:
    return examine(parse_application(document), default_rulebook(), datetime(2026, 5, 20).date())


def test_eco_check_explains_the_draw_and_refuses_one_that_alone_overdraws() -> None:
    """RCEP Art. 3.19.1(d) in the examination: the figures are in the reasons."""
    declared = [{"item_no": 1, "hs_code": "851671", "quantity": {"value": "5000", "unit": "PCE"}}]
    fits = _examine(_back_to_back_document(original_items=declared))
    assert any("drawn on E264403165010001" in n and "not verified" in n for n in fits.notes)
    small = [{"item_no": 1, "hs_code": "851671", "quantity": {"value": "10", "unit": "PCE"}}]
    over = _examine(_back_to_back_document(original_items=small))
    assert over.verdict.value == "NOT_QUALIFIED"
    assert any("overdraw of E264403165010001 item 1" in r for r in over.refusals)


def test_eco_check_asks_for_the_originals_items_when_nothing_shows_them() -> None:
    result = _examine(_back_to_back_document())
    assert "back_to_back.original_items" in {p.path for p in result.errors}
    supplied = _examine(_back_to_back_document(original_xml="<signed/>"))
    assert any("supplied signed XML" in n for n in supplied.notes)


def test_the_latest_stored_version_of_an_originalissued_here_is_read(tmp_path: Path) -> None:
    """A corrected original (Form E Rule 10) is drawn on as its latest version."""
    for version in (1, 2, 10):
        (tmp_path / f"E264403165010001-v{version}.xml").write_bytes(f"v{version}".encode())
    (tmp_path / "E264403165010002-v3.xml").write_bytes(b"other")
    assert issued_here(tmp_path, "E264403165010001") == b"v10"
    assert issued_here(tmp_path, "E264403165019999") is None
