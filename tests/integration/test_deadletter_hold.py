"""The stage holds when a dead letter cannot be published, against the real (secured) broker:
an ACL denies the worker's principal writes to ``eco.deadletter``; a poisoned application is
then not acknowledged (the group's committed offset stays at it), ``eco_stage_stopped`` is 1
on /metrics and a ``stage_stopped`` log line gives the broker's reason, and the good
applications behind it on the same partition wait. Once the ACL is removed the dead letter
appears with its reason and the good applications are issued: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.protocol.admin import DeleteAclsRequest

from pipeline import events
from pipeline.kafkaacls import OPERATION, PATTERN, PERMISSION, RESOURCE, AclBinding, create_acls
from pipeline.kafkasecure import SecuredBroker
from pipeline.settings import Settings
from pipeline.submission import read_document, submission
from tests.integration.faults import record_figures
from tests.integration.harness import SAMPLES, Stack, wait_for
from tests.integration.secured_kafka import APP_ID, ROLES, secured_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

DEADLETTER = events.DEADLETTER_TOPIC
DENY_DEADLETTERS = AclBinding("DENY", ROLES.worker, "WRITE", "TOPIC", DEADLETTER)
STAGE = "verification"


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, SecuredBroker]]:
    """A secured broker whose ACLs deny the worker writes to eco.deadletter, and a worker
    running verification and issuance."""
    home: Path = tmp_path_factory.mktemp("held")
    with secured_stack(home) as (stack, broker):
        asyncio.run(create_acls({"bootstrap_servers": stack.bootstrap, **broker.client_options()},
                                [DENY_DEADLETTERS]))
        stack.start_worker("worker", STAGE, "issuance")
        yield stack, broker


async def _remove_acl(stack: Stack, broker: SecuredBroker, binding: AclBinding) -> int:
    """Delete ``binding`` (as the super user); how many ACLs it removed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap, request_timeout_ms=15000,
                                **broker.client_options())
    await admin.start()
    try:
        request = DeleteAclsRequest(
            RESOURCE[binding.resource], binding.name, PATTERN[binding.pattern],
            f"User:{binding.principal}", "*", OPERATION[binding.operation],
            PERMISSION[binding.permission])
        response = await admin._send_request(request)  # no public call in aiokafka yet
    finally:
        await admin.close()
    removed = 0
    for code, message, matching in response.filter_responses:
        assert code == 0, f"cannot delete ACL {binding.describe()}: error {code} {message}"
        removed += len(matching)
    return removed


def _records(stack: Stack, broker: SecuredBroker, topic: str) -> list[Any]:
    """Every record of ``topic`` so far, read as the super user."""
    async def read() -> list[Any]:
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest", **broker.client_options())
        await consumer.start()
        try:
            await consumer._client.force_metadata_update()  # a topic may be new
            partitions = [TopicPartition(topic, p)
                          for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                return []
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            found: list[Any] = []
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(timeout_ms=1000)
                found += [r for batch in batches.values() for r in batch]
            return found
        finally:
            await consumer.stop()
    return asyncio.run(read())


def _committed(stack: Stack, broker: SecuredBroker, where: TopicPartition) -> int:
    """The worker group's committed offset of ``where`` (-1: none yet)."""
    async def read() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap,
                                    request_timeout_ms=15000, **broker.client_options())
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(APP_ID, partitions=[where])
        finally:
            await admin.close()
        found = offsets.get(where)
        return found.offset if found is not None else -1
    return asyncio.run(read())


def _stopped(stack: Stack) -> float | None:
    """``eco_stage_stopped{stage="verification"}`` on the worker's /metrics."""
    with urllib.request.urlopen(f"{stack.web_url}/metrics", timeout=5) as response:
        body = response.read().decode()
    series = f'eco_stage_stopped{{stage="{STAGE}"}} '
    values = [line[len(series):] for line in body.splitlines() if line.startswith(series)]
    return float(values[0]) if values else None


def _log_lines(stack: Stack, event: str) -> list[dict[str, Any]]:
    lines = []
    for line in stack.services.log("worker", chars=1 << 30).splitlines():
        if f'"{event}"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == event and entry.get("stage") == STAGE:
            lines.append(entry)
    return lines


def test_a_dead_letter_that_cannot_be_published_holds_the_stage(
        held: tuple[Stack, SecuredBroker]) -> None:
    stack, broker = held
    partitions = Settings.from_env(stack.env).kafka_partitions
    document = read_document(SAMPLES / "04-acfta-frozen-fish-vn.json")[0]
    poison = submission(document, source="poison", id_suffix=f"-held-{time.time_ns()}")
    key, _, headers = events.to_record(poison.envelope)
    chosen = DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))
    good = []
    i = 0
    while len(good) < 3:  # good applications keyed to the poison's partition
        i += 1
        sub = submission(document, source="good", id_suffix=f"-held-{time.time_ns()}-{i}")
        if DefaultPartitioner()(sub.application_id.encode(), list(range(partitions)),
                                list(range(partitions))) == chosen:
            good.append(sub)

    async def send(records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]
                   ) -> list[tuple[int, int]]:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all",
                                    **broker.client_options(ROLES.submitter))
        await producer.start()
        try:
            placed = []
            for k, v, h in records:
                meta = await producer.send_and_wait("eco.application", v, key=k, headers=h)
                placed.append((meta.partition, meta.offset))
            return placed
        finally:
            await producer.stop()

    started = time.monotonic()
    [(partition, offset)] = asyncio.run(send([(key, b"<xml>not avro</xml>", headers)]))
    assert partition == chosen
    wait_for(lambda: _stopped(stack) == 1.0, 90, "eco_stage_stopped to say the stage stopped")
    stopped_after = time.monotonic() - started
    placed = asyncio.run(send([events.to_record(s.envelope) for s in good]))
    assert {p for p, _ in placed} == {partition} and min(o for _, o in placed) > offset

    # Held: the stage keeps trying the same batch; the good ones behind it wait.
    tries_before = len(_log_lines(stack, "stage_stopped"))
    wait_for(lambda: len(_log_lines(stack, "stage_stopped")) >= tries_before + 2, 90,
             "the stage to try the held batch again, twice")
    stopped = _log_lines(stack, "stage_stopped")[-1]
    assert "TopicAuthorization" in stopped["reason"] or "TopicAuthorization" in stopped[
        "error"], stopped
    assert stopped["events"] == 1, stopped
    where = TopicPartition("eco.application", partition)
    assert _committed(stack, broker, where) <= offset, "the poison was acknowledged unpublished"
    good_ids = {s.application_id.encode() for s in good}
    assert not [r for r in _records(stack, broker, "eco.verification") if r.key in good_ids], \
        "a good application went past the held poison"
    assert not [r for r in _records(stack, broker, DEADLETTER) if r.key == key]
    assert _stopped(stack) == 1.0
    held_for = time.monotonic() - started

    # Publishing works again: the dead letter once, with its reason; the good ones issued.
    assert asyncio.run(_remove_acl(stack, broker, DENY_DEADLETTERS)) == 1
    allowed = time.monotonic()

    def dead_letters() -> list[dict[str, str]]:
        return [{k: v.decode() for k, v in r.headers} for r in _records(stack, broker, DEADLETTER)
                if r.key == key]

    [letter] = wait_for(dead_letters, 90, "the poison's dead letter")
    dead_lettered_after = time.monotonic() - allowed
    assert (letter["eco_dlq_topic"], int(letter["eco_dlq_partition"]),
            int(letter["eco_dlq_offset"])) == ("eco.application", partition, offset)
    assert letter["eco_dlq_stage"] == STAGE and letter["eco_dlq_error"] == "UndecodableEvent"
    assert letter["eco_dlq_reason"], letter

    def certificates() -> dict[bytes, set[str]]:
        found: dict[bytes, set[str]] = {}
        for record in _records(stack, broker, "eco.issuance"):
            h = dict(record.headers)
            if record.key in good_ids and h.get("ce_type") == b"eco.certificate.issued.v1":
                found.setdefault(record.key, set()).add(h["ce_id"].decode())
        return found if set(found) == good_ids else {}

    issued = wait_for(certificates, 180, "every good application issued")
    issued_after = time.monotonic() - allowed
    assert all(len(ids) == 1 for ids in issued.values()), issued
    verdicts = [r for r in _records(stack, broker, "eco.verification") if r.key in good_ids]
    assert len({dict(r.headers)["ce_id"] for r in verdicts}) == len(good_ids)
    wait_for(lambda: _stopped(stack) == 0.0, 60, "eco_stage_stopped back at 0")
    wait_for(lambda: _committed(stack, broker, where) > max(o for _, o in placed), 60,
             "the group's commit past the poison and the good applications")
    assert len(dead_letters()) == 1, "the poison was dead-lettered twice"
    record_figures("dead letter hold", applications=len(good), settled=len(good),
                   poisoned=1, stopped_after_s=round(stopped_after, 1),
                   held_s=round(held_for, 1), held_tries=len(_log_lines(stack, "stage_stopped")),
                   dead_lettered_after_allowed_s=round(dead_lettered_after, 1),
                   issued_after_allowed_s=round(issued_after, 1))
