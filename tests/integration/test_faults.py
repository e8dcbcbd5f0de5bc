"""Faults under a steady load, against the real broker, worker, callback receiver and sandbox
customs over HTTPS with mutual TLS: after each one every application is ACCEPTED, none got two
certificates and no office's serial was skipped. Each test prints its figures (``-s``) and keeps
them in ``.eco/test-artifacts/faults/`` (``<test>.json`` for the last run, ``runs.jsonl`` for
every run). The last test checks the one clock: a certificate is dated the day it was examined.

Longer variants (more applications, more kills) run with ``-m soak``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline import feeds
from pipeline.certificate.safexml import parse_xml
from pipeline.certificate.schema import NAMESPACE
from pipeline.submission import read_document, submission
from tests.integration.faults import (
    LOAD_SAMPLES,
    Load,
    accepted,
    log_size,
    nothing_issued_twice_no_serial_skipped,
    record_figures,
    replays,
)
from tests.integration.harness import SAMPLES, Stack, days_from_today, decoded, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SOAK = pytest.mark.soak


def full_log(stack: Stack, name: str) -> str:
    return stack.services.log(name, chars=1 << 30)


def figures(name: str, **values: Any) -> None:
    """Print and keep the test's figures (``.eco/test-artifacts/faults/``)."""
    record_figures(name, **values)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the module. The worker keeps one static group membership across
    restarts (Kafka's group.instance.id, ``ECO_WORKER_INSTANCE_ID``), so a killed worker's
    successor takes its partitions at once instead of after the session timeout. The customs
    gives up a callback after two tries: the receiver's outage outlasts it."""
    home: Path = tmp_path_factory.mktemp("faults")
    with Stack.started(home, {"ECO_WORKER_INSTANCE_ID": "eco-fault-worker",
                              "BROKER_SESSION_TIMEOUT": "15",
                              "BROKER_HEARTBEAT_INTERVAL": "1",
                              "ECO_RESPONSE_DEADLINE": "10m",
                              "ECO_RETRY_ATTEMPTS": "10",
                              "ECO_RECONCILE_AFTER": "4s"}) as stack:
        stack.start_sandbox("--callback-attempts", "2")
        stack.start_worker()
        yield stack


def _restart_worker(stack: Stack) -> float:
    started = time.monotonic()
    stack.start_worker(timeout=180)
    return time.monotonic() - started


def _kills(stack: Stack, count: int, kills: int, rate: float) -> None:
    since = log_size(stack)
    load = Load(stack, count, rate, "kill").start()
    restarts = []
    for k in range(kills):
        wait_for(lambda k=k: len(load.ids) >= (k + 1) * count // (kills + 1), 120,
                 f"the load to reach kill {k + 1}")
        stack.stop("worker", signal.SIGKILL)  # a crash, not a goodbye
        restarts.append(round(_restart_worker(stack), 1))
    ids = load.join()
    settle = accepted(stack, ids, 300, "every application accepted after the kills")
    offices = nothing_issued_twice_no_serial_skipped(stack, ids)
    figures(f"worker SIGKILL x{kills}", applications=len(ids), rate_per_s=rate, kills=kills,
            settled=len(ids), replays=replays(stack, since), kill_to_ready_s=restarts,
            settled_after_last_restart_s=round(settle, 1), serials=offices)


def test_worker_killed_twice_under_load_loses_nothing(faulty: Stack) -> None:
    _kills(faulty, count=40, kills=2, rate=4.0)


@SOAK
def test_worker_killed_five_times_under_load_loses_nothing(faulty: Stack) -> None:
    _kills(faulty, count=300, kills=5, rate=10.0)


def test_broker_restart_under_load_loses_nothing(faulty: Stack) -> None:
    stack = faulty
    since = log_size(stack)
    load = Load(stack, 40, 3.0, "broker").start()
    wait_for(lambda: len(load.ids) >= 6, 120, "the load to get going")
    submitted_before = len(load.ids)
    stack.kafka.stop()
    assert not stack.kafka.is_running()
    down = time.monotonic()
    stack.start_kafka()
    back = time.monotonic() - down
    restarted = []
    for name in ("worker", "receiver"):
        if name in stack.services.dead():
            restarted.append(name)  # a process that gave up on the broker: start it again
            stack.stop(name)
            stack.start_worker() if name == "worker" else stack.start_receiver()
    ids = load.join()
    assert submitted_before < len(ids), "the load did not go on across the outage"
    settle = accepted(stack, ids, 300, "every application accepted after the broker restart")
    offices = nothing_issued_twice_no_serial_skipped(stack, ids)
    figures("broker restart", applications=len(ids), settled=len(ids),
            replays=replays(stack, since), broker_down_s=round(back, 1),
            client_retries=load.retries, restarted=restarted,
            submitted_before_outage=submitted_before,
            settled_after_broker_back_s=round(settle, 1), serials=offices)


def test_receiver_down_longer_than_the_customs_retries(faulty: Stack) -> None:
    """Decisions pushed while the receiver is down are lost by the customs (it gives up);
    the reconciliation poller asks for them once the receiver is back."""
    stack = faulty
    before = _sandbox_stats(stack)
    stack.stop("receiver")
    ids = Load(stack, 12, 6.0, "receiver").start().join()

    def given_up() -> bool:
        stats = _sandbox_stats(stack)
        return stats["callbacks"]["failed"] - before["callbacks"]["failed"] >= 2 * len(ids)

    wait_for(given_up, 180, "the customs to give up every callback (receipt and decision)")
    outage_end = time.monotonic()
    stack.start_receiver()
    settle = accepted(stack, ids, 180, "every decision recovered by reconciliation")
    offices = nothing_issued_twice_no_serial_skipped(stack, ids)
    after = _sandbox_stats(stack)
    assert after["status_calls"] - before["status_calls"] >= len(ids)
    receiver_log = full_log(stack, "receiver")
    reconciled = (receiver_log.count('"via": "reconciliation"')
                  + receiver_log.count("via=reconciliation"))
    assert reconciled >= len(ids), stack.log("receiver")[-3000:]
    figures("receiver down", applications=len(ids), settled=len(ids),
            callbacks_given_up=after["callbacks"]["failed"] - before["callbacks"]["failed"],
            status_calls=after["status_calls"] - before["status_calls"],
            reconciled=reconciled, settled_after_receiver_back_s=round(
                time.monotonic() - outage_end, 1), accepted_wait_s=round(settle, 1),
            serials=offices)


def test_one_customs_unreachable_for_a_while_then_back(faulty: Stack) -> None:
    stack = faulty
    retries = full_log(stack, "worker").count("transmission_retry")
    stack.stop("sandbox")
    ids = Load(stack, 8, 4.0, "customs").start().join()
    wait_for(lambda: full_log(stack, "worker").count("transmission_retry") > retries, 90,
             "a delivery to fail and be retried")
    down_for = 8.0
    time.sleep(down_for)  # how long the customs stays away: the fault, not synchronisation
    back = time.monotonic()
    stack.start_sandbox("--callback-attempts", "2")
    settle = accepted(stack, ids, 240, "every application accepted once the customs is back")
    offices = nothing_issued_twice_no_serial_skipped(stack, ids)
    figures("customs unreachable", applications=len(ids), settled=len(ids),
            outage_s=down_for,
            settled_after_customs_back_s=round(time.monotonic() - back, 1),
            accepted_wait_s=round(settle, 1), serials=offices)


def _sandbox_stats(stack: Stack) -> dict[str, Any]:
    import ssl
    import urllib.request

    tls = stack.data_dir / "tls"
    context = ssl.create_default_context(cafile=str(tls / "ca.pem"))
    context.load_cert_chain(str(tls / "worker.pem"), str(tls / "worker.key"))
    url = f"{stack.env['ECO_SANDBOX_URL']}/sandbox/stats"
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        stats: dict[str, Any] = json.loads(response.read())
    return stats


def _sample() -> dict[str, Any]:
    return read_document(SAMPLES / LOAD_SAMPLES[0])[0]


INPUT_TOPICS = ("eco.application", "eco.verification", "eco.issuance-commands",
                "eco.issuance-requests", "eco.issuance", "eco.transmission",
                "eco.customs-response", "eco.deadlines", "eco.supplier-declaration",
                "eco.origin-determination", "eco.trust")


def _poisons(key: bytes, value: bytes, headers: list[tuple[str, bytes]]
             ) -> dict[str, tuple[bytes, list[tuple[str, bytes]]]]:
    """Each kind of bad record, made from one good application record."""
    from pipeline.events.codec import MARKER
    from pipeline.events.schemas import dataschema_of

    def with_headers(**changes: bytes) -> list[tuple[str, bytes]]:
        return [(k, changes.get(k, v)) for k, v in headers]

    return {
        "not single-object Avro": (b"<xml>not avro</xml>", headers),
        "unknown fingerprint": (MARKER + b"\x01" * 8 + value[10:], headers),
        "truncated datum": (value[: len(value) // 2], headers),
        "valid datum of the wrong type": (value, with_headers(
            ce_type=b"eco.customs.responded.v1",
            ce_dataschema=dataschema_of("eco.customs.responded.v1").encode())),
        "large garbage": (b"\x00" * 900_000, headers),
        "no CloudEvents headers": (value, []),
        "invalid CloudEvents headers": (value, with_headers(ce_specversion=b"0.3",
                                                            ce_time=b"yesterday")),
    }


def test_poison_on_every_input_topic_is_dead_lettered_while_the_stages_go_on(
        faulty: Stack) -> None:
    import asyncio

    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import MessageSizeTooLargeError

    from pipeline import events
    from tests.integration.harness import read_all

    stack = faulty
    template = submission(_sample(), source="poison", id_suffix="-poison-template").envelope
    key, value, headers = events.to_record(template)
    placed: dict[tuple[str, int, int], str] = {}

    async def publish() -> str:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all",
                                    max_request_size=4 * 1024 * 1024)
        await producer.start()
        try:
            for topic in INPUT_TOPICS:
                for kind, (bad, bad_headers) in _poisons(key, value, headers).items():
                    meta = await producer.send_and_wait(topic, bad, key=key,
                                                        headers=bad_headers)
                    placed[(topic, meta.partition, meta.offset)] = kind
            try:
                await producer.send_and_wait("eco.application", b"\x00" * 2_000_000, key=key,
                                             headers=headers)
            except MessageSizeTooLargeError as exc:
                return type(exc).__name__
            return "accepted"
        finally:
            await producer.stop()

    started = time.monotonic()
    oversized = asyncio.run(publish())
    assert oversized == "MessageSizeTooLargeError", "the broker took a record over its limit"
    ids = Load(stack, 4, 8.0, "after-poison").start().join()
    settle = accepted(stack, ids, 240, "good applications accepted behind the poison")

    def dead_lettered() -> dict[tuple[str, int, int], list[dict[str, str]]]:
        found: dict[tuple[str, int, int], list[dict[str, str]]] = {}
        for record in read_all(stack, "eco.deadletter"):
            h = {k: v.decode("utf-8", "replace") for k, v in record.headers}
            if "eco_dlq_topic" in h:
                where = (h["eco_dlq_topic"], int(h["eco_dlq_partition"]),
                         int(h["eco_dlq_offset"]))
                found.setdefault(where, []).append(h)
        return found if set(placed) <= set(found) else {}

    letters = wait_for(dead_lettered, 240, "a dead letter for every poisoned record")
    for where, kind in placed.items():
        reasons = [h["eco_dlq_reason"] for h in letters[where]]
        assert all(reasons), (where, kind)
        assert all(h["eco_dlq_error"] == "UndecodableEvent" for h in letters[where]), (
            where, kind, letters[where])
    nothing_issued_twice_no_serial_skipped(stack, ids)
    figures("poison", poisoned_records=len(placed), topics=len(INPUT_TOPICS),
            kinds=len(_poisons(key, value, headers)) + 1,
            dead_letters=sum(len(letters[w]) for w in placed),
            oversized=oversized, applications=len(ids), settled=len(ids),
            good_accepted_after_s=round(settle, 1),
            all_dead_lettered_after_s=round(time.monotonic() - started, 1))


def test_a_dead_letter_is_replayed_once_with_its_original_event_id(faulty: Stack) -> None:
    import asyncio

    from aiokafka import AIOKafkaProducer

    from pipeline import events
    from tests.integration.harness import eco, read_all

    stack = faulty
    envelope = submission(_sample(), source="replay",
                          id_suffix=f"-replay-{time.time_ns()}").envelope
    key, value, headers = events.to_record(envelope)
    dlq = [*headers, ("eco_dlq_reason", b"no key for office (since installed)"),
           ("eco_dlq_error", b"DependencyUnavailable"), ("eco_dlq_stage", b"verification"),
           ("eco_dlq_topic", b"eco.application"), ("eco_dlq_partition", b"0"),
           ("eco_dlq_offset", b"0"), ("eco_dlq_attempts", b"5"),
           ("eco_dlq_time", b"2026-05-20T08:00:00Z")]

    async def dead_letter() -> str:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        await producer.start()
        try:
            meta = await producer.send_and_wait("eco.deadletter", value, key=key, headers=dlq)
            return f"{meta.partition}:{meta.offset}"
        finally:
            await producer.stop()

    ref = asyncio.run(dead_letter())
    listed = eco(stack, "deadletter", "list", "--stage", "verification", "--reason",
                 "since installed", "--json")
    assert listed.returncode == 0, listed.stderr
    [line] = [json.loads(x) for x in listed.stdout.splitlines() if ref in x]
    assert line["ce_id"] == envelope.id and line["topic"] == "eco.application"
    shown = eco(stack, "deadletter", "show", ref)
    assert shown.returncode == 0 and "eco.application.submitted.v1" in shown.stdout
    assert eco(stack, "deadletter", "show", "9:999999").returncode == 1
    assert eco(stack, "deadletter", "list", "--since", "last week").returncode == 2

    first = eco(stack, "deadletter", "replay", ref)
    assert first.returncode == 0, first.stdout + first.stderr
    accepted(stack, [envelope.subject], 180, "the replayed application accepted")
    again = eco(stack, "deadletter", "replay", ref)
    assert again.returncode == 1 and "replayed before" in again.stdout
    forced = eco(stack, "deadletter", "replay", ref, "--again")
    assert forced.returncode == 0, forced.stdout + forced.stderr

    def replays() -> list[Any]:
        return [r for r in read_all(stack, "eco.deadletter-replays")
                if json.loads(r.value)["deadletter"] == ref]

    assert len(wait_for(lambda: len(replays()) == 2 and replays(), 60, "two replay records")) == 2
    redriven = [r for r in read_all(stack, "eco.application")
                if dict(r.headers).get("eco_replay_of") == f"eco.deadletter:{ref}".encode()]
    assert len(redriven) == 2
    assert all(dict(r.headers)["ce_id"] == envelope.id.encode() for r in redriven)
    # A replayed event yields the same outputs under the same ids (transitions are
    # idempotent), so the next stages find them applied: still one verdict, one certificate.
    verifications = [r for r in read_all(stack, "eco.verification") if r.key == key]
    assert verifications
    assert len({dict(r.headers)["ce_id"] for r in verifications}) == 1, \
        "a replay published another verdict"
    nothing_issued_twice_no_serial_skipped(stack, [envelope.subject])
    figures("deadletter replay", applications=1, settled=1, replays=2, certificates=1)


def test_a_certificate_is_dated_the_day_it_was_examined(faulty: Stack) -> None:
    """One clock: the samples are moved to today (no ECO_EXAMINATION_DATE), each certificate's
    issue date is the day its application was examined against, and the issued-retroactively
    tick follows DOMAIN.md (more than three days after the departure)."""
    stack = faulty
    late = read_document(SAMPLES / "04-acfta-frozen-fish-vn.json")[0]  # departed 11 days ago
    prompt = copy.deepcopy(read_document(SAMPLES / "01-rcep-led-luminaires-vn.json")[0])
    prompt["transport"]["departure_date"] = days_from_today(-2)
    subs = {kind: submission(doc, source=kind, id_suffix=f"-clock-{time.time_ns()}")
            for kind, doc in (("late", late), ("prompt", prompt))}
    asyncio.run(feeds.publish(stack.bootstrap, [s.envelope for s in subs.values()]))
    ids = {kind: s.application_id for kind, s in subs.items()}
    accepted(stack, list(ids.values()), 180, "both applications accepted")
    found = decoded(stack, "eco.issuance", set(ids.values()))
    issued = {e.subject: e for e in found if e.type == "eco.certificate.issued.v1"}
    verified = {e.subject: e for e in decoded(stack, "eco.verification", set(ids.values()))}
    examined = {}
    for line in full_log(stack, "worker").splitlines():
        if '"application_examined"' in line:
            entry = json.loads(line)
            examined[entry.get("application_id")] = entry["examined_as_of"]
    ns = f"{{{NAMESPACE}}}"
    ticks = {}
    for kind, app_id in ids.items():
        event, submitted_at = issued[app_id], subs[kind].envelope.data["submitted_at"]
        xml = parse_xml(event.data["document_xml"].encode())
        issued_at = datetime.fromisoformat(xml.findtext(f"{ns}IssuedAt") or "")
        day = issued_at.astimezone(UTC).date()
        assert day.isoformat() == examined[app_id], (kind, issued_at, examined[app_id])
        examined_at = verified[app_id].data["completed_at"]  # the examination's moment
        assert day == submitted_at.astimezone(UTC).date() == examined_at.date()
        assert event.data["issued_at"] == issued_at == examined_at
        ticks[kind] = xml.find(f".//{ns}IssuedRetroactively").get("ticked")
    assert ticks == {"late": "true", "prompt": "false"}, ticks
    notes = verified[ids["late"]].data["notes"]
    assert any(re.match(r"issued retroactively: 1\d days after the departure on ", n)
               for n in notes), notes
    figures("one clock", applications=2, settled=2, issue_day=str(day),
            issued_retroactively=ticks)
