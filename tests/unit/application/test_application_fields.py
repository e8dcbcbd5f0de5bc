"""The exporter's origin registration number and a material's role (packing, accessories)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from test_application_parse import DOC

from pipeline.application import MaterialRole, parse_application
from pipeline.errors import InvalidApplication


def _doc(**exporter: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["exporter"].update(exporter)
    return doc


def test_the_registration_number_is_read() -> None:
    assert parse_application(_doc()).exporter.registration_number == "440300123"


def test_a_missing_registration_number_has_its_own_error() -> None:
    """DOMAIN.md 1.6: China's reference number embeds the applicant's registration."""
    doc = _doc()
    del doc["exporter"]["registration_number"]
    with pytest.raises(InvalidApplication) as caught:
        parse_application(doc)
    [problem] = caught.value.problems
    assert problem.path == "exporter.registration_number"
    assert "origin registration number" in problem.message


@pytest.mark.parametrize("bad", ["44030012", "4403001234", "44030012x", "4403 0012"])
def test_a_malformed_registration_number_is_refused(bad: str) -> None:
    with pytest.raises(InvalidApplication) as caught:
        parse_application(_doc(registration_number=bad))
    [problem] = caught.value.problems
    assert problem.path == "exporter.registration_number"
    assert repr(bad) in problem.message


def test_an_older_alphanumeric_registration_is_accepted() -> None:
    assert parse_application(_doc(registration_number="470ZC1122")).exporter.registration_number


def _with_roles(*roles: str | None) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    materials = []
    for role in roles:
        entry: dict[str, Any] = {"hs_code": "481910", "value": "10.00"}
        if role is not None:
            entry["role"] = role
        materials.append(entry)
    doc["items"][0]["materials"] = materials
    return doc


def test_material_roles_default_to_an_ordinary_material() -> None:
    """RCEP Articles 3.8-3.9: packing and accessories are declared as such."""
    app = parse_application(_with_roles(None, "packing-retail", "PACKING-TRANSPORT", "accessory"))
    roles = [m.role for m in app.items[0].materials or ()]
    assert roles == [
        MaterialRole.MATERIAL,
        MaterialRole.PACKING_RETAIL,
        MaterialRole.PACKING_TRANSPORT,
        MaterialRole.ACCESSORY,
    ]


def test_an_unknown_role_names_the_known_ones() -> None:
    with pytest.raises(InvalidApplication) as caught:
        parse_application(_with_roles("wrapping"))
    [problem] = caught.value.problems
    assert problem.path == "items[0].materials[0].role"
    assert "packing-retail" in problem.message and "'wrapping'" in problem.message
