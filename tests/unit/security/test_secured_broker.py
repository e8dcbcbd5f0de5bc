"""The local broker's secured listener: its properties, its users, and what
``eco kafka start --sasl-ssl DIR`` refuses to start with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import ConfigurationError
from pipeline.kafkasecure import SecuredBroker, secured_from_dir
from pipeline.localkafka import broker_address, server_properties


def test_the_secured_broker_listens_on_sasl_ssl_only_and_denies_by_default(tmp_path: Path
                                                                           ) -> None:
    secured = SecuredBroker(tmp_path / "k.pem", tmp_path / "ca.pem",
                            {"eco-admin": "a1", "eco-worker": "w2"})
    text = server_properties(broker_address("127.0.0.1:9092"), tmp_path, 4, secured)
    assert "listeners=SASL_SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093" in text
    assert "PLAINTEXT://" not in text
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in text
    assert "allow.everyone.if.no.acl.found=false" in text
    assert "super.users=User:eco-admin\n" in text
    assert secured.format_arguments() == [
        "--add-scram", "SCRAM-SHA-512=[name=eco-admin,password=a1]",
        "--add-scram", "SCRAM-SHA-512=[name=eco-worker,password=w2]"]
    assert "a1" not in repr(secured)


@pytest.mark.parametrize("password", ['a"b', "a;b", "a b", ""])
def test_a_password_that_would_break_the_jaas_line_is_refused(tmp_path: Path,
                                                               password: str) -> None:
    with pytest.raises(ValueError, match="password of eco-admin"):
        SecuredBroker(tmp_path / "k", tmp_path / "c", {"eco-admin": password})


def test_the_directory_must_hold_every_file_owner_only(tmp_path: Path) -> None:
    (tmp_path / "broker.pem").write_text("key and chain")
    (tmp_path / "users.json").write_text(json.dumps({"eco-worker": "w"}))
    with pytest.raises(ConfigurationError) as caught:
        secured_from_dir(tmp_path, "eco-pipeline")
    problems = "\n".join(caught.value.problems)
    assert "ca.pem is missing" in problems
    assert "broker.pem is readable by others" in problems
    assert "users.json is readable by others" in problems
    for name in ("broker.pem", "users.json"):
        (tmp_path / name).chmod(0o600)
    (tmp_path / "ca.pem").write_text("ca")
    with pytest.raises(ConfigurationError, match="super user 'eco-admin' needs a password"):
        secured_from_dir(tmp_path, "eco-pipeline")
