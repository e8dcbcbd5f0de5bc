"""The start-up check names every configuration problem at once; the Kafka client options and
the ACL plan follow the settings."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from pipeline.configcheck import check_configuration, settings_from_env
from pipeline.errors import ConfigurationError
from pipeline.kafkaacls import Roles, acl_plan
from pipeline.kafkaclient import (
    client_options,
    faust_options,
    security_options,
    unreachable,
)
from pipeline.settings import Settings


def test_every_malformed_value_is_named_at_once() -> None:
    env = {"ECO_KAFKA_PARTITIONS": "four", "ECO_RETRY_BACKOFF": "soon",
           "ECO_DEV_PKI": "maybe", "ECO_KAFKA_SECURITY_PROTOCOL": "TLS",
           "ECO_PKCS11_KEY_LABELS": "CN-SHA", "ECO_LOG_LEVEL": "info"}
    with pytest.raises(ConfigurationError) as caught:
        settings_from_env(env)
    problems = caught.value.problems
    assert len(problems) == 5
    for name in ("ECO_KAFKA_PARTITIONS", "ECO_RETRY_BACKOFF", "ECO_DEV_PKI",
                 "ECO_KAFKA_SECURITY_PROTOCOL", "ECO_PKCS11_KEY_LABELS"):
        assert any(name in p for p in problems), name


def test_the_security_settings_are_read(tmp_path: Path) -> None:
    settings = settings_from_env({
        "ECO_DEV_PKI": "true", "ECO_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "ECO_KAFKA_SASL_USERNAME": "eco-worker", "ECO_KAFKA_SASL_PASSWORD": "s3cret",
        "ECO_KAFKA_REPLICATION_FACTOR": "3", "ECO_KAFKA_MIN_INSYNC_REPLICAS": "2",
        "ECO_PKCS11_KEY_LABELS": "CN-SHA=sha-2026, CN-SZX=szx",
        "ECO_OFFICE_KEYS_DIR": str(tmp_path / "keys"), "ECO_TRUST_DIR": str(tmp_path / "t")})
    assert settings.dev_pki and settings.kafka_security_protocol == "SASL_SSL"
    assert (settings.kafka_replication_factor, settings.kafka_min_insync_replicas) == (3, 2)
    assert settings.pkcs11_key_labels == {"CN-SHA": "sha-2026", "CN-SZX": "szx"}
    assert settings.office_keys == tmp_path / "keys" and settings.trust == tmp_path / "t"
    assert "s3cret" not in repr(settings)  # passwords and PINs are never shown


def test_the_check_names_each_problem_with_its_setting(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, kafka_security_protocol="SASL_SSL",
        kafka_ssl_cafile=tmp_path / "missing-ca.pem", kafka_ssl_certfile=tmp_path / "c.pem",
        kafka_replication_factor=1, kafka_min_insync_replicas=2,
        customs_file=tmp_path / "customs.json")
    problems = check_configuration(settings, signing=True)
    expected = ["ECO_KAFKA_SSL_CAFILE=", "ECO_KAFKA_SSL_CERTFILE=", "ECO_CUSTOMS_FILE=",
                "needs ECO_KAFKA_SASL_USERNAME", "ECO_KAFKA_SSL_KEYFILE go together",
                "exceeds ECO_KAFKA_REPLICATION_FACTOR", "office CN-SZX"]
    for text in expected:
        assert any(text in p for p in problems), (text, problems)


def test_a_development_setup_needs_nothing(tmp_path: Path) -> None:
    assert check_configuration(Settings(data_dir=tmp_path, dev_pki=True), signing=True) == []
    assert not (tmp_path / "pki").exists()  # the check itself generates nothing


def test_plaintext_by_default_and_sasl_ssl_when_configured(tmp_path: Path) -> None:
    assert client_options("b:1", Settings()) == {"bootstrap_servers": "b:1",
                                                 "security_protocol": "PLAINTEXT"}
    assert faust_options(Settings()) == {}
    secured = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u",
                       kafka_sasl_password="p")
    options = security_options(secured)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("u", "p")
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    credentials = faust_options(secured)["broker_credentials"]
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_SSL"


def test_the_worker_may_not_write_the_topics_of_authority() -> None:
    plan = acl_plan(Roles(), "eco-pipeline")
    denied = {(b.principal, b.name) for b in plan if b.permission == "DENY"}
    assert denied == {("eco-worker", "eco.trust"), ("eco-worker", "eco.issuance-commands")}
    writers = {b.name: b.principal for b in plan
               if b.permission == "ALLOW" and b.operation == "WRITE"}
    assert writers == {"eco.trust": "eco-trust-admin", "eco.issuance-commands": "eco-officer",
                       "eco.application": "eco-submitter"}


def test_a_secret_file_readable_by_others_is_named(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text("1234")
    pin.chmod(0o644)
    settings = Settings(data_dir=tmp_path, pkcs11_pin_file=pin)
    assert check_configuration(settings) == [
        f"ECO_PKCS11_PIN_FILE={pin}: readable by others (mode 644); make it 0600"]
    pin.chmod(0o600)
    assert check_configuration(settings) == []


def test_an_unreachable_secured_broker_names_the_principal() -> None:
    secured = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="eco-officer")
    assert "as 'eco-officer' (SCRAM-SHA-512)" in unreachable("k:9093", secured)
    assert unreachable("k:9092", Settings()) == "Kafka broker at k:9092 does not answer"
