"""A stack whose broker listens on SASL_SSL only, with SCRAM-SHA-512 users per role and the
ACLs of docs/security.md enforced by the StandardAuthorizer."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trustme
from cryptography.hazmat.primitives import serialization

from pipeline.kafkaacls import Roles
from pipeline.kafkasecure import SecuredBroker, secured_from_dir
from tests.integration.harness import Stack

ROLES = Roles()
APP_ID = "eco-test"


def broker_tls(root: Path) -> tuple[Path, Path]:
    """A test CA (trustme) and the broker's certificate for 127.0.0.1: keystore, truststore."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    root.mkdir(parents=True, exist_ok=True)
    keystore, truststore = root / "broker.pem", root / "ca.pem"
    keystore.write_bytes(pkcs8 + b"".join(b.bytes() for b in leaf.cert_chain_pems))
    keystore.chmod(0o600)
    truststore.write_bytes(ca.cert_pem.bytes())
    return keystore, truststore


@contextmanager
def secured_stack(home: Path) -> Iterator[tuple[Stack, SecuredBroker]]:
    """A stack whose broker ``eco kafka start --sasl-ssl DIR`` started."""
    secrets_dir = home / "broker-secrets"
    _, truststore = broker_tls(secrets_dir)
    users = {name: secrets.token_urlsafe(18) for name in
             ("eco-admin", ROLES.worker, ROLES.trust_admin, ROLES.officer, ROLES.submitter)}
    users_file = secrets_dir / "users.json"
    users_file.write_text(json.dumps(users))
    users_file.chmod(0o600)
    secured = secured_from_dir(secrets_dir, APP_ID)
    stack = Stack.create(home, {
        "ECO_APP_ID": APP_ID,
        "ECO_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "ECO_KAFKA_SSL_CAFILE": str(truststore),
        "ECO_KAFKA_SASL_USERNAME": ROLES.worker,
        "ECO_KAFKA_SASL_PASSWORD": users[ROLES.worker],
    })
    try:
        started = subprocess.run(
            [sys.executable, "-m", "pipeline", "kafka", "start", "--sasl-ssl", str(secrets_dir),
             "--timeout", "120"], env=stack.env, capture_output=True, text=True, timeout=180,
            check=False)
        assert started.returncode == 0, started.stderr + started.stdout
        yield stack, secured
    finally:
        stack.close()


def as_user(stack: Stack, secured: SecuredBroker, user: str) -> dict[str, str]:
    """The stack's environment for a process that connects as ``user``."""
    return {**stack.env, "ECO_KAFKA_SASL_USERNAME": user,
            "ECO_KAFKA_SASL_PASSWORD": secured.users[user]}
