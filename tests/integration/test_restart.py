"""A restart of the broker and of the worker in the middle of a run loses nothing."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import feeds
from tests.integration.harness import Stack, decoded, wait_for
from tests.integration.test_pipeline import EXPECTED, submit_samples, wait_journeys

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    with Stack.started(tmp_path, {"ECO_RESPONSE_DEADLINE": "15s"}) as stack:
        stack.start_sandbox()
        stack.start_worker()
        yield stack


def test_broker_and_worker_restart_mid_run_loses_nothing(own_stack: Stack) -> None:
    stack = own_stack
    ids = submit_samples(stack, f"-{uuid.uuid4().hex[:8]}")

    def some_progress() -> bool:
        statuses = asyncio.run(feeds.latest_statuses(stack.bootstrap, list(ids)))
        return any(s["state"] not in ("SUBMITTED",) for s in statuses.values())

    wait_for(some_progress, 120, "the first application to move past SUBMITTED")
    stack.stop("worker", signal.SIGKILL)  # a crash, not a goodbye
    stack.kafka.stop()
    assert not stack.kafka.is_running()
    stack.start_kafka()
    stack.start_worker()

    statuses = wait_journeys(stack, ids, timeout=240)
    for app_id, name in ids.items():
        assert statuses[app_id]["state"] == EXPECTED[name][0], (name, statuses[app_id])
    issued = [
        e for e in decoded(stack, "eco.issuance", set(ids)) if e.type == "eco.certificate.issued.v1"
    ]
    per_application = {}
    for envelope in issued:
        per_application.setdefault(envelope.subject, set()).add(envelope.data["certificate_number"])
    assert all(len(numbers) == 1 for numbers in per_application.values()), per_application
    assert len(per_application) == 5
    timeouts = {
        e.data["alert_id"]
        for e in decoded(stack, "eco.alert", set(ids))
        if e.data["kind"] == "RESPONSE_TIMEOUT"
    }
    assert len(timeouts) == 1
