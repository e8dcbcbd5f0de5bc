"""``eco demo``: the whole pipeline on one machine, from a fresh clone.

It starts the local Kafka broker, the sandbox customs (over HTTPS with client certificates)
and a worker, submits the sample applications, follows each journey until it settles (sending
the issuing authority's clarification, with ``eco clarify``, for a certificate refused in
Box 4), prints a table, and leaves the certificates, the trust anchors and ``summary.json`` in
the output directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import feeds
from pipeline.clock import moved_to
from pipeline.errors import DependencyUnavailable
from pipeline.monitoring import Monitor, demo_prometheus
from pipeline.services import Services
from pipeline.settings import Settings
from pipeline.states import SETTLED, State
from pipeline.submission import read_document, submission

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
# The samples were written for 2026-05-20: the demo moves their dates by as many days as the
# examination day (today, or ECO_EXAMINATION_DATE) lies after that, so that their journeys stay
# the same whatever the calendar says and a certificate is dated the day it is examined.
DEMO_ENV = {
    "ECO_RESPONSE_DEADLINE": "12s",
    "ECO_DEADLINE_CHECK_EVERY": "1s",
    "ECO_RETRY_BACKOFF": "0.2s",
    "ECO_DEV_PKI": "true",  # the demo signs with development keys, made on first use
}


CLARIFICATION = (
    "The cost statement for the heating elements is attached: the regional value content of "
    "55.00 % is built up from the suppliers' declarations on file."
)
CLARIFIED_BY = "Demo issuing officer"


def needs_clarification(status: Mapping[str, Any]) -> bool:
    """Refused in Box 4, with its alert raised: the issuing authority may clarify (Rule 8)."""
    return status["state"] == State.REJECTED.value and "BOX4_REJECTION" in status.get(
        "alerts", ())


def clarify_argv(application_id: str) -> list[str]:
    """The ``eco clarify`` command the demo (and the tests) run for a Box 4 rejection."""
    return [sys.executable, "-m", "pipeline", "clarify", application_id,
            "--explanation", CLARIFICATION, "--approved-by", CLARIFIED_BY]


def journey_done(status: Mapping[str, Any]) -> bool:
    """A demo journey is over when it settles, or waits on customs with its alert raised."""
    state = State(status["state"])
    alerts = set(status.get("alerts", ()))
    if state in (State.FALLBACK_MANUAL, State.TRANSMISSION_FAILED):
        return state.value in alerts  # these states always raise an alert of the same name
    if state in SETTLED:
        return True
    if state is State.REJECTED and "BOX4_REJECTION" in alerts:
        return True
    if state is State.TRANSMITTED and "RESPONSE_TIMEOUT" in alerts:
        return True
    return state is State.VERIFICATION_REQUESTED


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo(out: Path, samples: Path = SAMPLES, timeout: float = 240.0) -> int:
    from agents import COMPACTED_TOPICS, INTERNAL_TOPICS, PUBLIC_TOPICS, RETAINED_TOPICS
    from connectors.customs.sandbox import SANDBOX_COUNTRIES
    from connectors.customs.signatures import generate_customs_keys
    from connectors.customs.tls import generate_dev_tls
    from pipeline import demostack
    from pipeline.localkafka import LocalKafka
    from pipeline.topics import create_topics

    env = {**os.environ, **DEMO_ENV}
    port = Settings.from_env(env).sandbox_port
    env.setdefault("ECO_SANDBOX_URL", f"https://127.0.0.1:{port}")
    settings = Settings.from_env(env)
    stopped = demostack.stop_stack(settings, env)
    if stopped:
        _say(f"[demo] stopped the stack an earlier demo left running ({', '.join(stopped)})")
    # Made once here, before the sandbox and the worker start, so they share one CA and keys.
    generate_dev_tls(settings.data_dir / "tls")
    generate_customs_keys(settings.data_dir / "customs", SANDBOX_COUNTRIES)
    env.update(demostack.portal_environment(settings, env))
    settings = Settings.from_env(env)
    started = time.monotonic()
    kafka = LocalKafka.from_settings(settings)
    _say(f"[demo] starting Apache Kafka at {settings.kafka_bootstrap} ...")
    took = kafka.start()
    _say(f"[demo] broker ready ({took:.1f} s)")
    feeds.run(create_topics(settings.kafka_bootstrap, [*PUBLIC_TOPICS, *INTERNAL_TOPICS],
                            settings.kafka_partitions, compacted=COMPACTED_TOPICS,
                            retained=RETAINED_TOPICS))
    logs = out / "logs"
    services = Services(logs, env)
    prometheus: Monitor | None = None
    kept = False
    try:
        services.start("sandbox-customs", "sandbox-customs", "--delay", "0.5")
        services.start("worker", "worker")
        services.start_receiver()
        demostack.start_provider(services, env)
        services.start("portal", "portal")
        _say(f"[demo] worker and sandbox customs (VN, TH, MY) at {settings.sandbox_url} "
             f"starting; logs in {logs}")
        try:
            services.wait_ready(f"http://127.0.0.1:{settings.worker_web_port}/readyz", 120)
        except DependencyUnavailable as exc:
            _say(f"[demo] the worker did not become ready ({exc}); see {logs}")
            return 1
        _say(f"[demo] worker ready after {time.monotonic() - started:.1f} s")
        # Operations: where the metrics are, and a Prometheus with the rules if one is installed.
        prometheus = demo_prometheus(out / "prometheus", f"127.0.0.1:{settings.worker_web_port}",
                                     settings.prometheus_port, _say)
        if not _portal_ready(services, settings):
            _say(f"[demo] the portal did not become ready; see {logs}")
            return 1
        run_id = datetime.now(UTC).strftime("%m%d%H%M%S")
        files = sorted(samples.glob("*.json"))
        subs = []
        for path in files:
            document, _ = read_document(path)
            document = moved_to(document, settings.examination_day())
            subs.append((path, submission(document, source=str(path), via="CLI",
                                          id_suffix=f"-{run_id}")))
        feeds.run(feeds.publish(settings.kafka_bootstrap, [s.envelope for _, s in subs]))
        _say(f"[demo] submitted {len(subs)} applications (run {run_id}), examined as of "
             f"{settings.examination_day()}; following them:")
        names = {s.application_id: path.name for path, s in subs}

        clarifying: dict[str, subprocess.Popen[bytes]] = {}

        def progress(app_id: str, status: dict[str, Any]) -> None:
            last = status["history"][-1] if status.get("history") else {}
            _say(f"  {time.monotonic() - started:6.1f}s  {names[app_id]:<40} "
                 f"{status['state']:<22} {last.get('detail', '')[:70]}")
            if needs_clarification(status) and app_id not in clarifying:
                _say(f"  {'':7}  {names[app_id]:<40} the issuing authority clarifies: "
                     "eco clarify")
                with (logs / "clarify.log").open("ab") as handle:
                    clarifying[app_id] = subprocess.Popen(
                        clarify_argv(app_id), env=env, stdout=handle, stderr=handle)

        def done(status: dict[str, Any]) -> bool:
            return journey_done(status) and status["state"] != State.REJECTED.value

        statuses = feeds.run(feeds.wait_for_statuses(
            settings.kafka_bootstrap, list(names), done, timeout, on_change=progress,
            abort=lambda: bool(services.dead())))
        for proc in clarifying.values():
            proc.wait(timeout=60)
        if services.dead():
            _say(f"[demo] {', '.join(services.dead())} stopped unexpectedly; see {logs}")
            return 1
        _write_outputs(out, settings, subs, statuses)
        _print_table(subs, statuses)
        unfinished = [names[i] for i in names if i not in statuses
                      or not done(statuses[i])]
        _say(f"[demo] finished in {time.monotonic() - started:.1f} s; outputs in {out}")
        if unfinished:
            _say(f"[demo] still under way when the demo stopped waiting: {unfinished}")
            return 1
        if prometheus is not None:  # kept with the stack: `make stop` stops it too
            services.processes["prometheus"] = prometheus.process
        demostack.keep(settings, services)
        kept = True
        _print_access(settings)
        return 0
    finally:
        if not kept:
            if prometheus is not None:
                prometheus.stop()
            services.stop_all()


def _portal_ready(services: Services, settings: Settings, timeout: float = 90.0) -> bool:
    from pipeline.demostack import answers_https

    ca_file = settings.data_dir / "tls" / "ca.pem"
    deadline = time.monotonic() + timeout
    while not answers_https(f"{settings.portal_url}/readyz", ca_file):
        if services.dead() or time.monotonic() > deadline:
            return False
        time.sleep(0.3)  # polling interval of a deadline-bounded wait
    return True


def _print_access(settings: Settings) -> None:
    from pipeline.demostack import users

    _say("")
    _say(f"[demo] the stack keeps running. Origin Service Portal: {settings.portal_url}/")
    _say(f"       (development TLS: trust {settings.data_dir / 'tls' / 'ca.pem'} or accept "
         "the browser's warning; the sign-in page is the demo provider at "
         f"{settings.oidc_issuer})")
    _say(f"       {'user':<12} {'password':<18} {'roles':<16} tenant")
    for name, password, roles, tenant in users():
        _say(f"       {name:<12} {password:<18} {roles:<16} {tenant}")
    _say("[demo] stop everything with `make stop` (or `eco demo --stop`)")


def _write_outputs(out: Path, settings: Settings, subs: Sequence[tuple[Path, Any]],
                   statuses: Mapping[str, Mapping[str, Any]]) -> None:
    certs = out / "certificates"
    shutil.rmtree(certs, ignore_errors=True)
    certs.mkdir(parents=True)
    documents = settings.data_dir / "documents"
    summary = []
    for path, sub in subs:
        status = statuses.get(sub.application_id, {})
        number = status.get("certificate_number")
        if number:
            for xml in documents.glob(f"{number}*.xml"):
                shutil.copy(xml, certs / xml.name)
        summary.append({
            "application_id": sub.application_id,
            "file": path.name,
            "state": status.get("state"),
            "certificate_number": number,
            "alerts": list(status.get("alerts", [])),
        })
    _write_previews(certs, out / "previews", settings.portal_url)
    trust = settings.data_dir / "pki" / "trust"
    if trust.is_dir():
        shutil.copytree(trust, out / "trust", dirs_exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _write_previews(certs: Path, previews: Path, portal: str) -> None:
    """Each certificate previewed in English, Thai and Vietnamese, as HTML and as PDF."""
    from pipeline.certificate.render import LANGUAGES, preview_html, preview_pdf

    shutil.rmtree(previews, ignore_errors=True)
    previews.mkdir(parents=True)
    for xml_path in sorted(certs.glob("*.xml")):
        xml = xml_path.read_bytes()
        for lang in LANGUAGES:
            name = f"{xml_path.stem}.{lang}"
            (previews / f"{name}.html").write_text(
                preview_html(xml, lang, portal_url=portal), encoding="utf-8")
            (previews / f"{name}.pdf").write_bytes(preview_pdf(xml, lang, portal_url=portal))
    _say(f"[demo] previews in English, Thai and Vietnamese written to {previews}")


def _print_table(subs: Sequence[tuple[Path, Any]],
                 statuses: Mapping[str, Mapping[str, Any]]) -> None:
    _say("")
    _say(f"{'sample':<38} {'state':<20} {'certificate':<18} alerts")
    _say("-" * 96)
    for path, sub in subs:
        status = statuses.get(sub.application_id, {})
        _say(f"{path.name:<38} {status.get('state', '(none)'):<20} "
             f"{status.get('certificate_number') or '-':<18} "
             f"{', '.join(status.get('alerts', [])) or '-'}")
        for entry in status.get("history", []):
            _say(f"    {entry.get('state') or '':<22} {entry['detail'][:90]}")
        for reason in status.get("reasons", [])[:4]:
            _say(f"    reason: {reason[:100]}")
