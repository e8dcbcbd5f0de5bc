"""What the fault tests share: a steady load of applications derived from the samples, and the
checks that nothing was lost, nothing issued twice and no serial skipped."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import defaultdict
from typing import Any

from pipeline import events, feeds
from pipeline.certificate.numbering import ReferenceFormat
from pipeline.errors import DependencyUnavailable, UndecodableEvent
from pipeline.submission import read_document, submission
from tests.integration.harness import REPO, SAMPLES, Stack, read_all, wait_for

# Both go to the VN customs of the sandbox, which gives preference: each ends ACCEPTED.
LOAD_SAMPLES = ("01-rcep-led-luminaires-vn.json", "04-acfta-frozen-fish-vn.json")
ISSUED = "eco.certificate.issued.v1"
ARTIFACTS = REPO / ".eco" / "test-artifacts" / "faults"


class Load:
    """``count`` applications submitted at ``rate`` per second from a thread, each retried
    until the broker has it (a client does that while the broker is down)."""

    def __init__(self, stack: Stack, count: int, rate: float, tag: str) -> None:
        self.stack, self.count, self.rate = stack, count, rate
        self.ids: list[str] = []
        self.retries = 0
        self._documents = [read_document(SAMPLES / name)[0] for name in LOAD_SAMPLES]
        self._tag = f"{tag}-{uuid.uuid4().hex[:6]}"
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def join(self, timeout: float = 600) -> list[str]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the load did not finish submitting"
        assert len(self.ids) == self.count
        return self.ids

    def _run(self) -> None:
        started = time.monotonic()
        for i in range(self.count):
            document = self._documents[i % len(self._documents)]
            sub = submission(document, source="load", id_suffix=f"-{self._tag}-{i:04d}")
            while True:
                try:
                    asyncio.run(feeds.publish(self.stack.bootstrap, [sub.envelope]))
                    break
                except DependencyUnavailable:
                    self.retries += 1
                    time.sleep(0.5)  # the client's back-off while the broker is away
            self.ids.append(sub.application_id)
            pause = started + (i + 1) / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # the load's own pace, not synchronisation


def states(stack: Stack, ids: list[str]) -> dict[str, str]:
    found = asyncio.run(feeds.latest_statuses(stack.bootstrap, ids))
    return {i: str(s["state"]) for i, s in found.items()}


def accepted(stack: Stack, ids: list[str], timeout: float, what: str) -> float:
    """Wait until every application is ACCEPTED; returns how long that took (seconds)."""
    started = time.monotonic()
    last: dict[str, Any] = {}

    def done() -> bool:
        last["states"] = states(stack, ids)
        return all(last["states"].get(i) == "ACCEPTED" for i in ids)

    try:
        wait_for(done, timeout, what, every=1.0)
    except AssertionError as exc:
        pending = {i: s for i, s in last.get("states", {}).items() if s != "ACCEPTED"}
        missing = [i for i in ids if i not in last.get("states", {})]
        raise AssertionError(f"{exc}: not accepted {pending}, no status {missing[:10]}"
                             ) from None
    return time.monotonic() - started


def nothing_issued_twice_no_serial_skipped(stack: Stack, ids: list[str]) -> dict[str, int]:
    """Each application has one certificate; every number is used once; each office's serials
    of the year run from 1 without a gap, over every certificate issued on this stack."""
    everyone: dict[str, set[str]] = defaultdict(set)
    for record in read_all(stack, "eco.issuance"):
        try:
            envelope = events.from_record(record.key, record.value, list(record.headers))
        except UndecodableEvent:
            continue  # poison of the fault tests
        if envelope.type == ISSUED and envelope.data["version"] == 1:
            everyone[envelope.subject].add(envelope.data["certificate_number"])
    for app_id in ids:
        assert len(everyone.get(app_id, ())) == 1, (app_id, everyone.get(app_id))
    numbers = [n for found in everyone.values() for n in found]
    assert len(numbers) == len(set(numbers)), "a number was given to two applications"
    serials: dict[tuple[str, int], list[int]] = defaultdict(list)
    for number in numbers:
        reference = ReferenceFormat(prefix=number[0]).parse(number)
        serials[(reference.registration, reference.year)].append(reference.serial)
    for office, used in serials.items():
        assert sorted(used) == list(range(1, len(used) + 1)), (office, sorted(used))
    return {f"{office}:{year}": len(used) for (office, year), used in serials.items()}


def log_size(stack: Stack, name: str = "worker") -> int:
    """Where the log of ``name`` ends now: what a test wrote after this is its own."""
    path = stack.services.logs / f"{name}.log"
    return path.stat().st_size if path.exists() else 0


def replays(stack: Stack, since: int, name: str = "worker") -> int:
    """How many records a stage processed again since ``since`` (a crash's redelivery): the
    ``event_processed`` lines of the log whose stage, topic, partition and offset were seen
    before, in that window."""
    seen: set[tuple[str, str, int, int]] = set()
    again = 0
    with (stack.services.logs / f"{name}.log").open("rb") as handle:
        handle.seek(since)
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # not one of structlog's JSON lines (a traceback, Kafka's own output)
            if not isinstance(entry, dict) or entry.get("event") != "event_processed":
                continue
            where = (str(entry.get("stage")), str(entry.get("topic")),
                     int(entry.get("partition", -1)), int(entry.get("offset", -1)))
            again += where in seen
            seen.add(where)
    return again


def record_figures(name: str, **values: Any) -> dict[str, Any]:
    """A fault test's figures: printed (``-s``), written to ``ARTIFACTS/<name>.json`` (the
    last run) and appended to ``ARTIFACTS/runs.jsonl`` (every run)."""
    slug = "-".join(name.lower().replace("/", " ").split())
    figures = {"test": name, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               **values}
    text = json.dumps(figures, sort_keys=True)
    print(f"\n[fault figures] {text}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{slug}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    with (ARTIFACTS / "runs.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return figures
