"""The settings of transmission hardening: circuit, TLS, customs keys, verification deadlines."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import Settings

DAY = 86400.0


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.circuit_failures, settings.circuit_reset,
            settings.circuit_fallback_after) == (5, 30.0, 600.0)
    assert settings.tls_ca_file is None and settings.tls_cert_file is None
    assert settings.customs_trust == Path(".eco/customs/trust")
    assert settings.verification_deadline_for("RCEP") == 90 * DAY
    assert settings.verification_deadline_for("acfta") == 90 * DAY
    assert settings.verification_warning == 14 * DAY


def test_every_new_variable_is_read() -> None:
    settings = Settings.from_env({
        "ECO_DATA_DIR": "/srv/eco",
        "ECO_CIRCUIT_FAILURES": "3",
        "ECO_CIRCUIT_RESET": "1m",
        "ECO_CIRCUIT_FALLBACK_AFTER": "2h",
        "ECO_TLS_CA_FILE": "/etc/eco/ca.pem",
        "ECO_TLS_CERT_FILE": "/etc/eco/worker.pem",
        "ECO_TLS_KEY_FILE": "/etc/eco/worker.key",
        "ECO_CUSTOMS_TRUST_DIR": "/etc/eco/customs",
        "ECO_VERIFICATION_DEADLINES": "rcep=30d",
        "ECO_VERIFICATION_WARNING": "3d",
    })
    assert (settings.circuit_failures, settings.circuit_reset,
            settings.circuit_fallback_after) == (3, 60.0, 7200.0)
    assert settings.tls_ca_file == Path("/etc/eco/ca.pem")
    assert settings.tls_cert_file == Path("/etc/eco/worker.pem")
    assert settings.tls_key_file == Path("/etc/eco/worker.key")
    assert settings.customs_trust == Path("/etc/eco/customs")
    assert settings.verification_deadline_for("RCEP") == 30 * DAY
    assert settings.verification_deadline_for("ACFTA") == 90 * DAY  # the default stays
    assert settings.verification_deadline_for("AANZFTA") == 90 * DAY  # the longest known
    assert settings.verification_warning == 3 * DAY


@pytest.mark.parametrize(("name", "value"), [
    ("ECO_VERIFICATION_DEADLINES", "RCEP:30d"),
    ("ECO_VERIFICATION_DEADLINES", "RCEP=soon"),
    ("ECO_CIRCUIT_RESET", "-1s"),
    ("ECO_CIRCUIT_FAILURES", "many"),
])
def test_malformed_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})
