"""Deliveries never block, against the real broker, a real worker and the sandbox customs: while
Thailand's customs answers 503 to every certificate (its circuit opens and its deliveries wait in
the retry schedule), certificates bound for Viet Nam and Malaysia are delivered and accepted at
the latency they had before, measured with the events' own clocks. A worker restart keeps both
the schedule and the open circuit, and once Thailand answers again every held certificate is
delivered exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import feeds
from pipeline.events import Envelope
from pipeline.submission import read_document, submission
from tests.integration.harness import SAMPLES, Stack, decoded, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DOWN = "thdown-"
ELSEWHERE = ("01-rcep-led-luminaires-vn.json", "03-rcep-tshirts-my.json")
DELIVERED = "eco.transmission.delivered.v1"


def scenarios(home: Path, down: bool) -> Path:
    path = home / ("scenarios-down.json" if down else "scenarios-up.json")
    path.write_text(json.dumps({"applications": {f"{DOWN}*": "down"} if down else {}}))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home: Path = tmp_path_factory.mktemp("deliveries")
    with Stack.started(home, {
        "ECO_RESPONSE_DEADLINE": "1h",
        "ECO_RETRY_ATTEMPTS": "3",
        "ECO_CIRCUIT_FAILURES": "2",
        "ECO_CIRCUIT_RESET": "2s",
        "ECO_CIRCUIT_FALLBACK_AFTER": "1h",
    }) as started:
        started.start_sandbox("--scenarios", str(scenarios(home, down=True)))
        started.start_worker()
        yield started


def submit(stack: Stack, samples: list[str], prefix: str) -> dict[str, Envelope]:
    subs = []
    for n, sample in enumerate(samples):
        document, _ = read_document(SAMPLES / sample)
        document["application_id"] = f"{prefix}{n}-{uuid.uuid4().hex[:6]}"
        subs.append(submission(document, source=sample))
    asyncio.run(feeds.publish(stack.bootstrap, [s.envelope for s in subs]))
    return {s.application_id: s.envelope for s in subs}


def whole_log(stack: Stack, name: str) -> str:
    return stack.services.log(name, chars=1 << 30)


def logged(stack: Stack, name: str, event: str) -> set[str]:
    """The applications a worker logged ``event`` for."""
    lines = [json.loads(line[line.index("{"):]) for line in whole_log(stack, name).splitlines()
             if f'"event": "{event}"' in line]
    return {str(line.get("application_id")) for line in lines}


def wait_accepted(stack: Stack, ids: list[str], timeout: float = 120) -> None:
    statuses: dict[str, Any] = asyncio.run(feeds.wait_for_statuses(
        stack.bootstrap, ids, lambda s: s["state"] == "ACCEPTED", timeout))
    late = {i: statuses.get(i, {}).get("state") for i in ids
            if statuses.get(i, {}).get("state") != "ACCEPTED"}
    assert not late, f"not accepted: {late}\n{stack.log('worker')[-4000:]}"


def delivery_latencies(stack: Stack, submitted: dict[str, Envelope]) -> list[float]:
    """Seconds from each submission's ce_time to its delivered event's ce_time."""
    delivered = {e.subject: e.time for e in decoded(stack, "eco.transmission", set(submitted))
                 if e.type == DELIVERED}
    assert set(delivered) == set(submitted)
    return sorted((delivered[i] - submitted[i].time).total_seconds() for i in submitted)


def test_a_country_that_answers_503_delays_no_other_country(stack: Stack) -> None:
    baseline = submit(stack, list(ELSEWHERE) * 3, "base-")
    wait_accepted(stack, list(baseline))
    before = delivery_latencies(stack, baseline)

    held = submit(stack, ["02-acfta-kettles-th.json"] * 4, DOWN)
    wait_for(lambda: "customs_circuit_opened" in whole_log(stack, "worker"), 90,
             "the circuit of TH to open")
    during = submit(stack, list(ELSEWHERE) * 3, "during-")
    wait_accepted(stack, list(during))
    after = delivery_latencies(stack, during)

    # Generous bounds on a shared machine: the slowest delivery while TH is down stays within
    # three times the slowest one before it (and a few seconds), far below the circuit's hold.
    assert after[-1] <= max(3 * before[-1], before[-1] + 5.0), (before, after)
    statuses = asyncio.run(feeds.latest_statuses(stack.bootstrap, list(held)))
    assert {s["state"] for s in statuses.values()} == {"ISSUED"}, statuses
    assert not [e for e in decoded(stack, "eco.transmission", set(held))
                if e.type != "eco.certificate.clarified.v1"], "TH certificates are held"


def test_a_restart_keeps_the_schedule_and_the_open_circuit(stack: Stack) -> None:
    held = submit(stack, ["02-acfta-kettles-th.json"] * 3, f"{DOWN}r")
    wait_for(lambda: set(held) <= logged(stack, "worker", "transmission_held"), 90,
             "every new TH delivery held in the schedule")
    stack.stop("worker", signal.SIGKILL)
    stack.start_worker("worker-2")
    wait_for(lambda: "transmission_schedule_loaded" in whole_log(stack, "worker-2"), 60,
             "the schedule to be loaded")
    loaded = [json.loads(line[line.index("{"):]) for line in
              whole_log(stack, "worker-2").splitlines() if "transmission_schedule_loaded" in line]
    assert max(entry["pending"] for entry in loaded) >= len(held), loaded

    stack.stop("sandbox")
    stack.start_sandbox("--scenarios", str(scenarios(stack.home, down=False)))
    wait_accepted(stack, list(held), timeout=180)
    log = whole_log(stack, "worker-2")
    assert "customs_circuit_closed" in log, "the circuit came back open from the table"
    assert "customs_circuit_opened" not in log, "and was never opened afresh"
    assert "delivery_body_read" in log, "the signed XML read back from eco.issuance"
    delivered: dict[str, set[str]] = {}
    for event in decoded(stack, "eco.transmission", set(held)):
        if event.type == DELIVERED:
            delivered.setdefault(event.subject, set()).add(event.id)
    assert {i: len(ids) for i, ids in delivered.items()} == dict.fromkeys(held, 1)


def test_the_schedule_changelog_is_compacted_early(stack: Stack) -> None:
    """A start reads the in-memory schedule's changelog whole: it rolls and compacts every
    10 minutes, so a start reads what is pending rather than every delivery ever made."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    async def configs() -> dict[str, str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
        await admin.start()
        try:
            [response] = await admin.describe_configs([ConfigResource(
                ConfigResourceType.TOPIC,
                f"{stack.env['ECO_APP_ID']}-transmission-schedule-changelog")])
        finally:
            await admin.close()
        [(_, _, _, _, entries)] = response.resources
        return {entry[0]: entry[1] for entry in entries}

    found = asyncio.run(configs())
    assert found["cleanup.policy"] == "compact"
    assert found["segment.ms"] == "600000" and found["delete.retention.ms"] == "600000"
