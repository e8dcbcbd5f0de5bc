"""A demo-like run watched by a real Prometheus and a real Alertmanager, shared by the alerting
and the dashboard tests (one session fixture: the run is the expensive part).

The broker, the sandbox customs (with the demo's scenarios), the callback receiver and a worker
run as in the demo; Prometheus (Debian's ``prometheus``) scrapes the worker and the receiver
every second with the project's alert
rules and sends alerts to Alertmanager (Debian's ``prometheus-alertmanager``), configured with
the project's routing tree and receivers pointed at a webhook server of the test. Every sample
is submitted, plus one record that is not an event (a dead letter), and the fixture waits until
each journey has settled.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaProducer

from pipeline import feeds
from pipeline.demo import journey_done
from pipeline.monitoring import (
    ALERTMANAGER_BINARIES,
    ALERTMANAGER_CONFIG,
    PROMETHEUS_BINARIES,
    Monitor,
    find_binary,
    prometheus_config,
    start_alertmanager,
    start_prometheus,
)
from pipeline.services import free_port
from pipeline.submission import read_document, submission
from tests.integration.harness import SAMPLES, Stack, wait_for


@dataclass
class Webhook:
    """An HTTP server recording what Alertmanager posts, by path (one path per receiver)."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.lock:
                    hook.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def groups(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [payload for p, payload in self.received if p == path]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def alertmanager_test_config(webhook: str, interval: str = "1s") -> dict[str, Any]:
    """The project's Alertmanager configuration with each receiver posting to
    ``webhook/<receiver name>`` and group timings shortened for a test."""
    config: dict[str, Any] = copy.deepcopy(yaml.safe_load(ALERTMANAGER_CONFIG.read_text()))

    def shorten(route: dict[str, Any]) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = interval
        for child in route.get("routes", []):
            shorten(child)

    config["route"].update(group_wait=interval, group_interval=interval, repeat_interval="1h")
    shorten(config["route"])
    for receiver in config["receivers"]:
        receiver["webhook_configs"] = [{"url": f"{webhook}/{receiver['name']}",
                                        "send_resolved": True}]
    return config


@dataclass
class ObservedRun:
    stack: Stack
    prometheus: Monitor
    alertmanager: Monitor
    webhook: Webhook
    alertmanager_config: dict[str, Any]
    applications: dict[str, str]  # sample file name -> application id

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result of an instant query; AssertionError with Prometheus' error if it fails."""
        url = f"{self.prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{expr}: {error.read().decode()}") from error
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.prometheus.url}{path}", timeout=10) as response:
            return json.loads(response.read())["data"]


async def _publish_garbage(bootstrap: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait("eco.application", b"\x00 not an event", key=b"garbage-1")
    finally:
        await producer.stop()


@pytest.fixture(scope="session")
def observed_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObservedRun]:
    if find_binary(PROMETHEUS_BINARIES) is None or find_binary(ALERTMANAGER_BINARIES) is None:
        pytest.fail("Prometheus and Alertmanager are missing: install the Debian packages "
                    "prometheus and prometheus-alertmanager "
                    "(deploy/system/install-packages.sh --test)")
    home: Path = tmp_path_factory.mktemp("observed")
    webhook = Webhook()
    hook_url = webhook.start()
    monitors: list[Monitor] = []
    try:
        # Faust's own records at info, to see them come out through the pipeline's renderer.
        with Stack.started(home, {"ECO_RESPONSE_DEADLINE": "6s",
                                  "ECO_FAUST_LOG_LEVEL": "info"}) as stack:
            stack.start_sandbox()
            stack.start_worker()
            am_config = alertmanager_test_config(hook_url)
            am_port = free_port()
            alertmanager = start_alertmanager(home / "alertmanager", am_port, am_config)
            monitors.append(alertmanager)
            worker = f"127.0.0.1:{stack.env['ECO_WORKER_WEB_PORT']}"
            config = prometheus_config([worker], alertmanager=f"127.0.0.1:{am_port}",
                                       interval="1s")
            # The callback receiver too: its own process, its own /metrics (reconciliation).
            config["scrape_configs"].append({"job_name": "eco-receiver", "static_configs": [
                {"targets": [f"127.0.0.1:{stack.env['ECO_RECEIVER_PORT']}"]}]})
            prometheus = start_prometheus(home / "prometheus", free_port(), config)
            monitors.append(prometheus)
            run = ObservedRun(stack, prometheus, alertmanager, webhook, am_config, {})
            # Rules see an increase only from a sample before it: the first scrape comes first.
            wait_for(lambda: run.query('eco_alerts_total{kind="BOX4_REJECTION",country="TH"}'),
                     60, "Prometheus' first scrape of the worker")
            applications = run.applications
            envelopes = []
            for path in sorted(SAMPLES.glob("*.json")):
                document, _ = read_document(path)
                sub = submission(document, source=path.name, id_suffix="-observed")
                applications[path.name] = sub.application_id
                envelopes.append(sub.envelope)
            asyncio.run(feeds.publish(stack.bootstrap, envelopes))
            asyncio.run(_publish_garbage(stack.bootstrap))
            statuses = asyncio.run(feeds.wait_for_statuses(
                stack.bootstrap, list(applications.values()), journey_done, 180))
            unsettled = [name for name, app in applications.items()
                         if app not in statuses or not journey_done(statuses[app])]
            assert not unsettled, f"journeys not settled: {unsettled}\n{stack.log('worker')}"
            yield run
    finally:
        for monitor in reversed(monitors):
            monitor.stop()
        webhook.stop()
