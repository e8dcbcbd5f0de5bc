"""Faults under a steady load, against the real broker, worker, callback receiver and sandbox
customs over HTTPS with mutual TLS: after each one every application is ACCEPTED, none got two
certificates and no office's serial was skipped. Each test prints its figures (``-s``).

Longer variants (more applications, more kills) run with ``-m soak``.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.faults import Load, accepted, nothing_issued_twice_no_serial_skipped
from tests.integration.harness import Stack, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SOAK = pytest.mark.soak


def full_log(stack: Stack, name: str) -> str:
    return stack.services.log(name, chars=1 << 30)


def figures(name: str, **values: Any) -> None:
    print(f"\n[fault figures] {name}: {json.dumps(values, sort_keys=True)}")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the module. The worker keeps one static group membership across
    restarts (Kafka's group.instance.id), so a killed worker's successor takes its partitions
    at once instead of after the session timeout. The customs gives up a callback after two
    tries: the receiver's outage outlasts it."""
    home: Path = tmp_path_factory.mktemp("faults")
    with Stack.started(home, {"CONSUMER_GROUP_INSTANCE_ID": "eco-fault-worker",
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
    figures("worker SIGKILL", applications=len(ids), rate_per_s=rate, kills=kills,
            settled=len(ids), restart_to_ready_s=restarts,
            settled_after_last_restart_s=round(settle, 1), serials=offices)


def test_worker_killed_twice_under_load_loses_nothing(faulty: Stack) -> None:
    _kills(faulty, count=40, kills=2, rate=4.0)


@SOAK
def test_worker_killed_five_times_under_load_loses_nothing(faulty: Stack) -> None:
    _kills(faulty, count=300, kills=5, rate=10.0)


def test_broker_restart_under_load_loses_nothing(faulty: Stack) -> None:
    stack = faulty
    load = Load(stack, 30, 4.0, "broker").start()
    wait_for(lambda: len(load.ids) >= 10, 120, "the load to get going")
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
    settle = accepted(stack, ids, 300, "every application accepted after the broker restart")
    offices = nothing_issued_twice_no_serial_skipped(stack, ids)
    figures("broker restart", applications=len(ids), broker_down_s=round(back, 1),
            client_retries=load.retries, restarted=restarted,
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
    figures("receiver down", applications=len(ids),
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
    figures("customs unreachable", applications=len(ids), outage_s=down_for,
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
