"""Trust notifications (``eco.trust.updated.v1``): what the trust stage accepts, how the
workers keep and replay them, and the trust view that rebuilds the registry on change only."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline import events
from pipeline.certificate.devpki import (
    DevPki,
    authority_certificate,
    certificate_pem,
    new_private_key,
)
from pipeline.certificate.model import IssuingOffice
from pipeline.certificate.notification import (
    TRUST_UPDATED,
    Replayed,
    TrustNotification,
    notification_id,
    readable,
    replay,
)
from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.trustview import TrustView, describe, in_force_by_country
from pipeline.errors import InvalidInput

AT = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
THAI = IssuingOffice("TH-DFT", "Department of Foreign Trade", "Nonthaburi", "TH")


def _thai_ca() -> str:
    key = new_private_key("ecdsa")
    return certificate_pem(authority_certificate(
        key, THAI, not_before=AT - timedelta(days=365), not_after=AT + timedelta(days=365),
    )).decode()


def _data(pem: str, action: str = "ADD", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"country": "TH", "action": action, "certificate_pem": pem,
                            "effective_at": AT, "name": None, "address": None,
                            "notified_by": None, "reference": None, "published_at": AT}
    data.update(changes)
    return data


def _notice(pem: str, action: str = "ADD", **changes: Any) -> TrustNotification:
    data = _data(pem, action, **changes)
    return TrustNotification.from_event(notification_id(data), data)


def test_a_valid_notification_is_read_with_what_came_with_it() -> None:
    pem = _thai_ca()
    notice = _notice(pem, name="DFT", reference="NV-41", notified_by="MOC Thailand")
    assert (notice.country, notice.action, notice.reference, notice.notified_by) == (
        "TH", "ADD", "NV-41", "MOC Thailand")
    assert notice.update.action == "add" and notice.update.effective_at == AT
    assert notice.update.name == "DFT" and notice.update.address is None
    assert len(notice.fingerprint) == 64


def test_the_event_data_fits_the_schema_and_comes_back_the_same() -> None:
    notice = _notice(_thai_ca(), "WITHDRAW", reference="NV-42")
    envelope = events.new_envelope(TRUST_UPDATED, notice.event_data(), source="test",
                                   subject=notice.country, id=notice.id)
    key, value, headers = events.to_record(envelope)
    back = events.from_record(key, value, headers)
    assert key == b"TH" and events.TOPIC_OF[TRUST_UPDATED] == "eco.trust"
    assert TrustNotification.from_event(back.id, back.data) == notice


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"certificate_pem": "garbage"}, "certificate_pem", "not a PEM X.509 certificate"),
    ({"country": "CN"}, "country", "'CN' differs from the country 'TH' of the certificate's"),
    ({"country": "thailand"}, "country", "not an ISO 3166-1 alpha-2 code"),
    ({"effective_at": datetime(2026, 5, 20, 8, 0)}, "effective_at", "with its time zone"),
    ({"action": "UNKNOWN"}, "action", "'UNKNOWN' is not ADD or WITHDRAW"),
])
def test_an_invalid_notification_names_the_field_and_the_problem(
    changes: dict[str, Any], field: str, message: str,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        _notice(_thai_ca(), **changes)
    assert any(p.path == field and message in p.message for p in raised.value.problems), (
        raised.value.problems)
    assert str(raised.value).startswith("trust notification ")


def test_an_office_certificate_is_refused_as_not_a_ca(rsa_pki: DevPki) -> None:
    office_pem = (rsa_pki.trust_dir / "CN-SZX.pem").read_text()
    with pytest.raises(InvalidInput, match=r"CN=CN-SZX.* is not a CA certificate"):
        _notice(office_pem, country="CN")


def test_json_form_round_trips_and_a_broken_one_is_refused() -> None:
    notice = _notice(_thai_ca(), name="DFT", address="Bangkok")
    value = notice.to_json()
    assert value["id"] == notice.id and value["effective_at"] == AT.isoformat()
    assert TrustNotification.from_json(value) == notice
    with pytest.raises(InvalidInput, match="effective_at"):
        TrustNotification.from_json({**value, "effective_at": "soon"})


def test_the_id_derives_from_what_is_notified_not_from_when_it_was_published() -> None:
    pem = _thai_ca()
    later = AT + timedelta(hours=1)
    assert notification_id(_data(pem)) == notification_id(_data(pem, published_at=later))
    assert notification_id(_data(pem)) != notification_id(_data(pem, effective_at=later))
    assert notification_id(_data(pem)) != notification_id(_data(pem, "WITHDRAW"))


def test_replay_applies_in_order_once_per_id_and_skips_what_does_not_apply() -> None:
    pem, stranger = _thai_ca(), _thai_ca()
    add = _notice(pem)
    withdraw = _notice(pem, "WITHDRAW", effective_at=AT + timedelta(days=1))
    unknown = _notice(stranger, "WITHDRAW")
    replayed = replay(TrustRegistry(), [add, add, unknown, withdraw])
    (entry,) = replayed.registry.for_country("TH")
    assert (entry.in_force_from, entry.in_force_until) == (AT, AT + timedelta(days=1))
    assert [i for i, _ in replayed.skipped] == [unknown.id]
    assert "not an issuing authority in the trust registry" in replayed.skipped[0][1]


def test_readable_separates_valid_notifications_from_invalid_events() -> None:
    good = _data(_thai_ca())
    found, invalid = readable([("e1", good), ("e2", {**good, "certificate_pem": "x"})])
    assert [n.id for n in found] == ["e1"]
    assert invalid[0][0] == "e2" and "certificate_pem" in invalid[0][1]


def _trust_copy(pki: DevPki, tmp_path: Path) -> Path:
    """A trust directory of the test's own, to change under a view."""
    directory = tmp_path / "trust"
    shutil.copytree(pki.trust_dir, directory)
    return directory


def test_the_view_applies_notifications_to_the_files_and_rebuilds_on_change_only(
    rsa_pki: DevPki, tmp_path: Path,
) -> None:
    directory = _trust_copy(rsa_pki, tmp_path)
    held: dict[str, list[dict[str, Any]]] = {}
    changes: list[Replayed] = []
    view = TrustView(directory, held, on_change=changes.append)

    files = view.current()
    assert len(files.authorities) == 1 and view.current() is files
    assert view.rebuilds == 1 and len(changes) == 1

    ca_pem = rsa_pki.ca_certificate_path.read_text()
    withdraw = _notice(ca_pem, "WITHDRAW", country="CN")
    held["CN"] = [withdraw.to_json()]
    withdrawn = view.current()
    assert withdrawn.authorities[0].in_force_until == AT
    assert view.current() is withdrawn and view.rebuilds == 2

    thai = _notice(_thai_ca())
    held["TH"] = [thai.to_json()]
    assert view.current().countries == frozenset({"CN", "TH"})
    assert view.rebuilds == 3 and changes[-1].registry is view.current()

    (directory / "ca.pem").unlink()  # the files changed too: the CN withdrawal no longer applies
    rebuilt = view.current()
    assert rebuilt.countries == frozenset({"TH"})
    assert [i for i, _ in view.skipped] == [withdraw.id]


def test_a_missing_trust_directory_is_an_empty_registry(tmp_path: Path) -> None:
    view = TrustView(tmp_path / "absent", {})
    assert view.current() == TrustRegistry()


def test_describe_and_counts_say_what_is_in_force_at_an_instant(rsa_pki: DevPki) -> None:
    ca_pem = rsa_pki.ca_certificate_path.read_text()
    registry = replay(rsa_pki.trust_registry(), [
        _notice(ca_pem, "WITHDRAW", country="CN"),
        _notice(ca_pem, "ADD", country="CN", effective_at=AT + timedelta(days=2)),
        _notice(_thai_ca()),
    ]).registry
    rows = describe(registry, AT + timedelta(days=1))
    assert [(r["country"], r["in_force_from"], r["in_force_until"], r["in_force_now"])
            for r in rows] == [
        ("CN", None, AT.isoformat(), False),
        ("CN", (AT + timedelta(days=2)).isoformat(), None, False),
        ("TH", AT.isoformat(), None, True),
    ]
    assert rows[0]["fingerprint"] == rows[1]["fingerprint"]
    assert {"name", "address", "certificate_valid_from", "certificate_valid_until"} <= set(rows[0])
    assert in_force_by_country(registry, AT + timedelta(days=1)) == {"CN": 0, "TH": 1}
    assert in_force_by_country(registry, AT + timedelta(days=3)) == {"CN": 1, "TH": 1}
    assert describe(registry, AT, flag="in_force")[2]["in_force"] is True


def test_the_view_looks_at_the_files_at_most_every_so_often_and_at_notices_always(
    rsa_pki: DevPki, tmp_path: Path,
) -> None:
    directory = _trust_copy(rsa_pki, tmp_path)
    held: dict[str, list[dict[str, Any]]] = {}
    now = [100.0]
    view = TrustView(directory, held, files_every=1.0, clock=lambda: now[0])
    assert view.current().countries == frozenset({"CN"})

    (directory / "ca.pem").unlink()
    now[0] += 0.5
    assert view.current().countries == frozenset({"CN"}), "the files are not looked at yet"
    held["TH"] = [_notice(_thai_ca()).to_json()]
    assert "TH" in view.current().countries, "a notification takes effect at once"
    now[0] += 0.5
    assert view.current().countries == frozenset({"TH"}), "a second on, the files are seen"
