"""The pipeline on a broker that listens on SASL_SSL only (SCRAM-SHA-512) with ACLs enforced
by the StandardAuthorizer: the worker's principal does its work but cannot write eco.trust or
eco.issuance-commands; the trust-admin and officer principals can write theirs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from pipeline.kafkasecure import SecuredBroker
from tests.integration.harness import SAMPLES, Stack, wait_for
from tests.integration.secured_kafka import ROLES, as_user, secured_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, SecuredBroker]]:
    with secured_stack(tmp_path_factory.mktemp("secured")) as (stack, broker):
        stack.start_worker("worker", "verification", "issuance")
        yield stack, broker


async def write(stack: Stack, broker: SecuredBroker, user: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, request_timeout_ms=15000,
                                **broker.client_options(user))
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=b"probe")
    finally:
        await producer.stop()


def write_outcome(stack: Stack, broker: SecuredBroker, user: str, topic: str) -> str:
    try:
        asyncio.run(write(stack, broker, user, topic))
    except TopicAuthorizationFailedError:
        return "denied"
    return "written"


def issued_for(stack: Stack, broker: SecuredBroker, application_id: str) -> list[Any]:
    async def read() -> list[Any]:
        consumer = AIOKafkaConsumer("eco.issuance", bootstrap_servers=stack.bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False,
                                    consumer_timeout_ms=2000, **broker.client_options())
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=3000)
        finally:
            await consumer.stop()
        return [r for records in batches.values() for r in records
                if r.key == application_id.encode()]
    return asyncio.run(read())


def test_the_worker_issues_on_the_secured_cluster(secured: tuple[Stack, SecuredBroker]) -> None:
    stack, broker = secured
    sample = SAMPLES / "01-rcep-led-luminaires-vn.json"
    submitted = subprocess.run([sys.executable, "-m", "pipeline", "submit", str(sample)],
                               env=as_user(stack, broker, ROLES.submitter),
                               capture_output=True, text=True, timeout=120, check=False)
    assert submitted.returncode == 0, submitted.stderr
    application_id = submitted.stdout.split()[0]
    records = wait_for(lambda: issued_for(stack, broker, application_id), 180,
                       "the certificate on eco.issuance", every=1.0)
    assert any(dict(r.headers).get("ce_type") == b"eco.certificate.issued.v1" for r in records)
    assert "TopicAuthorizationFailed" not in stack.log("worker")


@pytest.mark.parametrize(("user", "topic", "outcome"), [
    (ROLES.worker, "eco.trust", "denied"),
    (ROLES.worker, "eco.issuance-commands", "denied"),
    (ROLES.worker, "eco.deadletter", "written"),
    (ROLES.trust_admin, "eco.trust", "written"),
    (ROLES.trust_admin, "eco.issuance-commands", "denied"),
    (ROLES.officer, "eco.issuance-commands", "written"),
    (ROLES.officer, "eco.trust", "denied"),
    (ROLES.submitter, "eco.trust", "denied"),
    (ROLES.submitter, "eco.customs-response", "denied"),
])
def test_who_may_write_what(secured: tuple[Stack, SecuredBroker], user: str, topic: str,
                            outcome: str) -> None:
    stack, broker = secured
    assert write_outcome(stack, broker, user, topic) == outcome


def test_a_client_without_credentials_or_tls_gets_nothing(
        secured: tuple[Stack, SecuredBroker], tmp_path: Path) -> None:
    stack, broker = secured
    wrong = {**broker.client_options(ROLES.worker), "sasl_plain_password": "not-the-password"}

    async def connect(options: dict[str, Any]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, request_timeout_ms=5000,
                                    **options)
        try:
            await asyncio.wait_for(producer.start(), 20)
        finally:
            await producer.stop()

    for options in (wrong, {}):  # a wrong password; plaintext on a TLS port
        with pytest.raises((KafkaError, OSError, TimeoutError)):
            asyncio.run(connect(options))
    # The CLI with a wrong password says so and exits 3 (unreachable dependency).
    env = {**as_user(stack, broker, ROLES.submitter), "ECO_KAFKA_SASL_PASSWORD": "wrong"}
    document = json.loads((SAMPLES / "02-acfta-kettles-th.json").read_text())
    path = tmp_path / "application.json"
    path.write_text(json.dumps(document))
    result = subprocess.run([sys.executable, "-m", "pipeline", "submit", str(path)], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 3  # an unreachable dependency, said plainly
    assert f"refused this client over SASL_SSL as {ROLES.submitter!r}" in result.stderr
    assert "Traceback" not in result.stderr
