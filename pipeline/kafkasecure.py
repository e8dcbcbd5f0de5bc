"""The local broker's secured listener (``eco kafka start`` with a SecuredBroker): clients on
SASL_SSL with SCRAM-SHA-512 users, the KRaft controller on SASL_SSL with PLAIN for the broker
itself, and ACLs enforced by the StandardAuthorizer (nothing is allowed that no ACL allows).

The SCRAM users are written into the cluster's metadata when the storage is formatted
(``kafka-storage format --add-scram``); the ACLs are created through the Admin API once the
broker answers. The broker's TLS key and certificates are files the caller provides (a PEM
keystore: PKCS#8 key and chain; a PEM truststore): the launcher never makes keys.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigurationError
from pipeline.kafkaacls import AclBinding, Roles, acl_plan

SCRAM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def _jaas_value(text: str, what: str) -> str:
    if not text or any(c in text for c in '"\\;\n= '):
        raise ValueError(f"{what} {text!r} must be non-empty, without quotes, backslashes, "
                         "semicolons, equals signs or spaces")
    return text


@dataclass(frozen=True)
class SecuredBroker:
    """How to secure the local broker: TLS files, SCRAM users, the super user and the ACLs."""

    keystore: Path  # PEM: the broker's private key (PKCS#8, unencrypted) and certificate chain
    truststore: Path  # PEM: the CA certificates clients' and the broker's certificates chain to
    users: Mapping[str, str] = field(repr=False)  # SCRAM-SHA-512 user name -> password
    admin: str = "eco-admin"  # a super user: the broker's own connections and ACL changes
    acls: Sequence[AclBinding] = ()

    def __post_init__(self) -> None:
        if self.admin not in self.users:
            raise ValueError(f"the super user {self.admin!r} needs a password in users")
        for name, password in self.users.items():
            _jaas_value(name, "user name")
            _jaas_value(password, f"the password of {name}")

    def properties(self, broker: str, controller: str) -> dict[str, str]:
        """``server.properties`` entries of the secured listeners (host:port of each)."""
        admin, password = self.admin, self.users[self.admin]
        return {
            "listeners": f"SASL_SSL://{broker},CONTROLLER://{controller}",
            "advertised.listeners": f"SASL_SSL://{broker}",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.enabled.mechanisms": SCRAM,
            "sasl.mechanism.inter.broker.protocol": SCRAM,
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": SCRAM,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{admin}" password="{password}";',
            # SCRAM credentials live in the metadata the controller serves, so the controller
            # listener authenticates the broker with PLAIN instead (Kafka's KRaft guidance).
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config":
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="{admin}" password="{password}" user_{admin}="{password}";',
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.truststore),
            "authorizer.class.name": AUTHORIZER,
            "super.users": f"User:{admin}",
            "allow.everyone.if.no.acl.found": "false",
        }

    def format_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments that create the SCRAM users."""
        arguments = []
        for name, password in self.users.items():
            arguments += ["--add-scram", f"{SCRAM}=[name={name},password={password}]"]
        return arguments

    def client_options(self, user: str | None = None) -> dict[str, Any]:
        """aiokafka security options of ``user`` (default the super user)."""
        name = user or self.admin
        context = ssl.create_default_context(cafile=str(self.truststore))
        return {"security_protocol": "SASL_SSL", "ssl_context": context,
                "sasl_mechanism": SCRAM, "sasl_plain_username": name,
                "sasl_plain_password": self.users[name]}


def secured_from_dir(directory: Path, app_id: str) -> SecuredBroker:
    """``eco kafka start --sasl-ssl DIR``: ``broker.pem`` (the keystore), ``ca.pem`` (the
    truststore) and ``users.json`` (``{"eco-admin": "<password>", "eco-worker": ...}``, mode
    0600) from ``DIR``, with the ACLs of docs/security.md for the worker group ``app_id``.
    ConfigurationError naming every missing or unsafe file."""
    keystore, truststore, users_file = (directory / "broker.pem", directory / "ca.pem",
                                        directory / "users.json")
    problems = [f"--sasl-ssl {directory}: {path.name} is missing ({what})"
                for path, what in ((keystore, "the broker's PKCS#8 key and certificate chain"),
                                   (truststore, "the CA certificates"),
                                   (users_file, "SCRAM users and their passwords"))
                if not path.is_file()]
    for path in (keystore, users_file):
        if path.is_file() and path.stat().st_mode & 0o077:
            problems.append(f"--sasl-ssl {directory}: {path.name} is readable by others; "
                            "make it 0600")
    users: dict[str, str] = {}
    if users_file.is_file():
        try:
            loaded = json.loads(users_file.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()):
                raise ValueError("expected an object of user name -> password")
            users = loaded
        except ValueError as exc:
            problems.append(f"--sasl-ssl {directory}: users.json: {exc}")
    if problems:
        raise ConfigurationError(problems)
    try:
        return SecuredBroker(keystore, truststore, users, acls=acl_plan(Roles(), app_id))
    except ValueError as exc:
        raise ConfigurationError([f"--sasl-ssl {directory}: users.json: {exc}"]) from exc
