"""A local Prometheus (and Alertmanager) watching the pipeline's processes, for the demo and
the tests: the binaries of the Debian packages ``prometheus`` and ``prometheus-alertmanager``,
configured to scrape the given workers with the project's alert rules
(``deploy/prometheus/rules``) and, with an Alertmanager, to route alerts with the project's
Alertmanager configuration (``deploy/alertmanager/alertmanager.yml``) or a derivative of it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import DependencyUnavailable
from pipeline.services import answers

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "deploy" / "prometheus" / "rules"
ALERTMANAGER_CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
PROMETHEUS_BINARIES = ("prometheus",)
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")


def find_binary(names: Sequence[str]) -> str | None:
    """The first of ``names`` on PATH (Debian installs Alertmanager as prometheus-alertmanager)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def prometheus_config(targets: Sequence[str], *, job: str = "eco-worker",
                      alertmanager: str | None = None, interval: str = "15s",
                      rule_files: Sequence[Path] | None = None) -> dict[str, Any]:
    """A Prometheus configuration scraping ``targets`` (host:port, each a worker's /metrics)
    under ``job`` with the project's rules; JSON is YAML, so it is written as JSON."""
    rules = rule_files if rule_files is not None else sorted(RULES_DIR.glob("*.yml"))
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "scrape_timeout": interval},
        "rule_files": [str(path) for path in rules],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets)}]}],
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [
            {"targets": [alertmanager]}]}]}
    return config


@dataclass
class Monitor:
    """A started Prometheus or Alertmanager process and its base URL."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once ``/-/ready`` answers; DependencyUnavailable with the log otherwise."""
        deadline = time.monotonic() + timeout
        while not answers(f"{self.url}/-/ready"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise DependencyUnavailable(
                    f"{self.name} did not become ready:\n"
                    + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.2)  # polling interval of a deadline-bounded wait


def _start(name: str, binaries: Sequence[str], package: str, workdir: Path, host: str,
           port: int, config: Mapping[str, Any] | None, options: Sequence[str]) -> Monitor:
    """Run one of ``binaries`` in ``workdir`` with ``config`` (JSON, which is YAML; the
    project's Alertmanager file when None) and its data there; return it once ready."""
    binary = find_binary(binaries)
    if binary is None:
        raise DependencyUnavailable(f"{name} is not installed (Debian package {package})")
    workdir = workdir.resolve()  # the process runs in it: relative paths would not resolve
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / f"{name}.yml"
    if config is None:
        shutil.copy(ALERTMANAGER_CONFIG, config_file)
    else:
        config_file.write_text(json.dumps(config, indent=2))
    argv = [binary, f"--config.file={config_file}", f"--web.listen-address={host}:{port}",
            "--log.level=warn", *(o.format(data=workdir / "data") for o in options)]
    log = workdir / f"{name}.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(argv, stdout=handle, stderr=handle, cwd=workdir,
                                   start_new_session=True)
    monitor = Monitor(name, f"http://{host}:{port}", process, log)
    monitor.wait_ready()
    return monitor


def start_prometheus(workdir: Path, port: int, config: Mapping[str, Any],
                     host: str = "127.0.0.1") -> Monitor:
    """Start Prometheus with ``config`` and its data under ``workdir``; waits until ready."""
    return _start("prometheus", PROMETHEUS_BINARIES, "prometheus", workdir, host, port, config,
                  ["--storage.tsdb.path={data}", "--web.enable-lifecycle"])


def start_alertmanager(workdir: Path, port: int, config: Mapping[str, Any] | None = None,
                       host: str = "127.0.0.1") -> Monitor:
    """Start Alertmanager (clustering off) with ``config``, by default the project's."""
    return _start("alertmanager", ALERTMANAGER_BINARIES, "prometheus-alertmanager", workdir,
                  host, port, config, ["--storage.path={data}", "--cluster.listen-address="])


def demo_prometheus(workdir: Path, worker: str, port: int, say: Any) -> Monitor | None:
    """For the demo: say where the worker's metrics are and, when Prometheus is installed,
    start one scraping it with the project's rules and say where it is."""
    say(f"[demo] metrics: http://{worker}/metrics")
    if find_binary(PROMETHEUS_BINARIES) is None:
        say("[demo] install Prometheus (Debian package prometheus) and the demo starts one "
            "with the alert rules")
        return None
    try:
        monitor = start_prometheus(workdir, port, prometheus_config([worker], interval="2s"))
    except (DependencyUnavailable, OSError) as exc:
        say(f"[demo] Prometheus did not start ({str(exc).splitlines()[0]}); carrying on")
        return None
    say(f"[demo] Prometheus with the alert rules: {monitor.url}/alerts "
        f"(graphs at {monitor.url}/graph)")
    return monitor
