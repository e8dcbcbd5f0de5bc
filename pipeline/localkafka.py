"""The local Apache Kafka broker: one KRaft node, broker and controller, under ``<data_dir>/kafka``.

Maven resolves Kafka's runtime classpath once from ``deploy/kafka/pom.xml``; the launcher formats
the storage once, writes ``server.properties`` and runs ``kafka.Kafka`` detached with a pid file.
Addresses, properties and the parsing of versions and pid files are pure functions; the rest is
the process shell around them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka import errors as kafka_errors

from pipeline.errors import DependencyUnavailable
from pipeline.kafkaacls import create_acls
from pipeline.kafkasecure import SecuredBroker
from pipeline.keyfiles import write_key_file
from pipeline.settings import Settings

JAVA_MIN_MAJOR = 17
INSTALL_HINT = "install it, for example: apt-get install openjdk-17-jre-headless maven"
HEAP_OPTIONS = ("-Xms256m", "-Xmx768m")
DEPLOY_DIR = Path(__file__).resolve().parents[1] / "deploy" / "kafka"
CONTROLLER_PORT_VARIABLE = "ECO_KAFKA_CONTROLLER_PORT"
CONSOLE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND


# --- pure part ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerAddress:
    """Where the one-node broker listens: clients on ``port``, the KRaft controller on the other."""

    host: str
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def endpoint(self, port: int) -> str:
        """``host:port`` for a listener on this host."""
        return f"{self.bootstrap.rpartition(':')[0]}:{port}"


def parse_port(text: str, name: str) -> int:
    """A TCP port number from text; ValueError naming the setting otherwise."""
    try:
        port = int(text.strip())
    except ValueError as exc:
        raise ValueError(f"{name}={text!r} is not a port number") from exc
    if not 1 <= port <= 65535:
        raise ValueError(f"{name}={text!r} is not a port number (1-65535)")
    return port


def parse_host_port(text: str, name: str = "ECO_KAFKA_BOOTSTRAP") -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) of one broker; ValueError naming the setting otherwise."""
    match = re.fullmatch(r"\s*(?:\[([0-9a-fA-F:.]+)\]|([^:\s,\[\]]+)):(\w+)\s*", text)
    if match is None:
        raise ValueError(f"{name}={text!r} is not one host:port (for example 127.0.0.1:9092)")
    return match.group(1) or match.group(2), parse_port(match.group(3), name)


def broker_address(bootstrap: str, controller_port: str | None = None) -> BrokerAddress:
    """The local broker's address: the controller listens on the broker port + 1 unless given."""
    host, port = parse_host_port(bootstrap)
    if controller_port is None:
        if port == 65535:
            raise ValueError(f"ECO_KAFKA_BOOTSTRAP port {port} leaves no port for the controller")
        controller = port + 1
    else:
        controller = parse_port(controller_port, CONTROLLER_PORT_VARIABLE)
    if controller == port:
        raise ValueError(f"{CONTROLLER_PORT_VARIABLE}={controller} is the broker port itself")
    return BrokerAddress(host, port, controller)


def server_properties(address: BrokerAddress, log_dirs: Path, partitions: int = 4,
                      secured: SecuredBroker | None = None) -> str:
    """``server.properties`` of a combined broker+controller node with replication factor 1;
    with ``secured``, SASL_SSL listeners and the StandardAuthorizer (``pipeline.kafkasecure``)."""
    broker, controller = address.endpoint(address.port), address.endpoint(address.controller_port)
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{controller}",
        "listeners": f"PLAINTEXT://{broker},CONTROLLER://{controller}",
        "advertised.listeners": f"PLAINTEXT://{broker}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(log_dirs),
        "num.partitions": str(partitions),
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    if secured is not None:
        settings.update(secured.properties(broker, controller))
    lines = ["# Written by `eco kafka start` on every start; edits are lost."]
    return "\n".join(lines + [f"{key}={value}" for key, value in settings.items()]) + "\n"


def java_major_version(version_output: str) -> int | None:
    """The major version in ``java -version`` output (``1.8.0_292`` is 8, ``17.0.15`` is 17)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?[^"]*"', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def parse_pid(text: str) -> int | None:
    """The process id in a pid file, or None when it holds anything else."""
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() and int(stripped) > 0 else None


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in unpadded URL-safe base64, not starting with ``-``."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or an empty string when there is none."""
    try:
        with path.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# --- files and processes --------------------------------------------------------------------


@dataclass(frozen=True)
class KafkaFiles:
    """The files of the local broker, all under ``home`` (``<data_dir>/kafka``)."""

    home: Path
    data: Path  # log.dirs: the KRaft metadata and the topic partitions
    logs: Path
    server_log: Path  # written by log4j2 (deploy/kafka/log4j2.xml)
    console_log: Path  # the JVM's stdout and stderr
    server_properties: Path
    pid: Path
    cluster_id: Path
    classpath: Path
    classpath_pom_digest: Path  # sha256 of the pom the classpath was resolved from

    @classmethod
    def under(cls, home: Path) -> KafkaFiles:
        logs = home / "logs"
        return cls(
            home, home / "data", logs, logs / "server.log", logs / "console.log",
            home / "server.properties", home / "kafka.pid", home / "cluster-id",
            home / "classpath.txt", home / "classpath.pom.sha256",
        )  # fmt: skip


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts a TCP connection on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs; reaps it first if it is our own exited child."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _runs_broker(pid: int, properties: Path) -> bool:
    """True when ``pid`` is a live ``kafka.Kafka`` run with these properties: pid reuse guard."""
    if not process_alive(pid):
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return True  # no /proc on this system: trust the pid file
    except OSError:
        return False
    return b"kafka.Kafka" in command and str(properties).encode() in command


def _run(command: Sequence[str], what: str, env: Mapping[str, str]) -> str:
    """Run a tool to completion; DependencyUnavailable with its last output lines if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise DependencyUnavailable(f"{what} failed (exit {result.returncode}):\n{output}")
    return result.stdout + result.stderr


def find_java(env: Mapping[str, str]) -> str:
    """The ``java`` of JAVA_HOME or PATH, checked to be version 17 or newer."""
    home_java = Path(env.get("JAVA_HOME", "")) / "bin" / "java"
    java = str(home_java) if env.get("JAVA_HOME") and home_java.exists() else None
    java = java or shutil.which("java", path=env.get("PATH", os.defpath))
    if java is None:
        raise DependencyUnavailable(
            f"Java {JAVA_MIN_MAJOR}+ is needed but not found; {INSTALL_HINT}"
        )
    major = java_major_version(_run([java, "-version"], f"{java} -version", env))
    if major is None or major < JAVA_MIN_MAJOR:
        found = "an unknown version" if major is None else f"Java {major}"
        raise DependencyUnavailable(
            f"{java} is {found}; Kafka 4 needs Java {JAVA_MIN_MAJOR}+; {INSTALL_HINT}"
        )
    return java


class LocalKafka:
    """One local Apache Kafka broker: ``start`` is idempotent and returns once it answers."""

    def __init__(
        self,
        address: BrokerAddress,
        home: Path,
        deploy_dir: Path = DEPLOY_DIR,
        env: Mapping[str, str] | None = None,
        partitions: int = 4,
        secured: SecuredBroker | None = None,
    ) -> None:
        self.address = address
        self.secured = secured
        self.partitions = partitions  # of topics the broker creates on first use
        self.files = KafkaFiles.under(home.resolve())
        self.deploy_dir = deploy_dir
        self.env = dict(os.environ if env is None else env)

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> LocalKafka:
        """The broker of ECO_KAFKA_BOOTSTRAP under ECO_DATA_DIR (ValueError for a bad setting)."""
        env = os.environ if env is None else env
        address = broker_address(settings.kafka_bootstrap, settings.kafka_controller_port or None)
        return cls(
            address, settings.data_dir / "kafka", env=env, partitions=settings.kafka_partitions
        )

    @property
    def bootstrap(self) -> str:
        return self.address.bootstrap

    def pid(self) -> int | None:
        """The broker's pid while it runs; None if the pid file is missing or stale."""
        try:
            pid = parse_pid(self.files.pid.read_text())
        except FileNotFoundError:
            return None
        if pid is None:
            return None
        return pid if _runs_broker(pid, self.files.server_properties) else None

    def is_running(self) -> bool:
        """True when the pid file's process is alive and the broker port accepts connections."""
        return self.pid() is not None and port_answers(self.address.host, self.address.port)

    def ensure_runtime(self) -> tuple[str, str]:
        """Java and Kafka's classpath, resolved with Maven unless cached for the current pom."""
        java = find_java(self.env)
        pom = self.deploy_dir / "pom.xml"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        files = self.files
        if files.classpath.exists() and files.classpath_pom_digest.exists():
            classpath = files.classpath.read_text().strip()
            jars = [Path(jar) for jar in classpath.split(os.pathsep) if jar]
            fresh = files.classpath_pom_digest.read_text().strip() == digest
            if fresh and jars and all(jar.exists() for jar in jars):
                return java, classpath
        maven = shutil.which("mvn", path=self.env.get("PATH", os.defpath))
        if maven is None:
            raise DependencyUnavailable(f"Maven is needed to fetch Apache Kafka; {INSTALL_HINT}")
        files.home.mkdir(parents=True, exist_ok=True)
        files.classpath_pom_digest.unlink(missing_ok=True)
        _run(
            [maven, "-q", "-B", "-Dstyle.color=never", "-f", str(pom),
             "dependency:build-classpath", f"-Dmdep.outputFile={files.classpath}"],
            "Maven resolving Apache Kafka from " + str(pom),
            self.env,
        )  # fmt: skip
        files.classpath_pom_digest.write_text(digest + "\n")
        return java, files.classpath.read_text().strip()

    def start(self, timeout: float = 60.0) -> float:
        """Start the broker unless it runs and wait until it answers; the seconds it took."""
        began = time.monotonic()
        if self.is_running():
            return 0.0
        pid = self.pid()
        if pid is None:
            for port in (self.address.port, self.address.controller_port):
                if port_answers(self.address.host, port):
                    raise DependencyUnavailable(
                        f"port {port} on {self.address.host} is taken by another process; stop it "
                        f"or choose other ports (ECO_KAFKA_BOOTSTRAP, {CONTROLLER_PORT_VARIABLE})"
                    )
            pid = self._launch(*self.ensure_runtime())
        deadline = began + timeout
        try:
            options = self.secured.client_options() if self.secured else {}
            asyncio.run(_await_metadata(self.bootstrap, deadline, lambda: process_alive(pid),
                                        options))
            if self.secured is not None and self.secured.acls:
                asyncio.run(create_acls({"bootstrap_servers": self.bootstrap, **options},
                                        self.secured.acls))
        except DependencyUnavailable as exc:
            raise DependencyUnavailable(
                f"{exc}; the broker (pid {pid}) still runs, `eco kafka stop` ends it\n"
                + self.log_tail()
            ) from exc
        if not process_alive(pid):
            self.files.pid.unlink(missing_ok=True)
            raise DependencyUnavailable(
                f"the Kafka broker exited while starting\n{self.log_tail()}"
            )
        return time.monotonic() - began

    def _launch(self, java: str, classpath: str) -> int:
        """Write the properties, format the storage once, and start ``kafka.Kafka`` detached."""
        files = self.files
        files.logs.mkdir(parents=True, exist_ok=True)
        properties = server_properties(self.address, files.data, self.partitions, self.secured)
        # Secured, it holds the super user's password: readable by its owner only.
        write_key_file(files.server_properties, properties.encode(),
                       private=self.secured is not None)
        if not (files.data / "meta.properties").exists():
            if not files.cluster_id.exists():
                files.cluster_id.write_text(new_cluster_id() + "\n")
            _run(
                [java, "-cp", classpath, "kafka.tools.StorageTool", "format", "--ignore-formatted",
                 "-t", files.cluster_id.read_text().strip(), "-c", str(files.server_properties),
                 *(self.secured.format_arguments() if self.secured else [])],
                "formatting the KRaft storage in " + str(files.data),
                self.env,
            )  # fmt: skip
        command = [
            java, *HEAP_OPTIONS, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.deploy_dir / 'log4j2.xml'}",
            f"-Deco.kafka.logs={files.logs}", f"-Dkafka.logs.dir={files.logs}",
            "-cp", classpath, "kafka.Kafka", str(files.server_properties),
        ]  # fmt: skip
        # Spawned in a session of its own, so it outlives this process and is stopped as a group.
        pid = os.posix_spawn(
            java,
            command,
            self.env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(files.console_log), CONSOLE_FLAGS, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            setsid=True,
        )
        files.pid.write_text(f"{pid}\n")
        return pid

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout``); the pid it had, or None."""
        pid = self.pid()
        if pid is not None:
            self._signal(pid, signal.SIGTERM)
            if not self._exited(pid, timeout):
                self._signal(pid, signal.SIGKILL)
                self._exited(pid, 10.0)
        self.files.pid.unlink(missing_ok=True)
        return pid

    def _signal(self, pid: int, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signum)  # the broker leads its own session, so its group is its pid

    def _exited(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while process_alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def log_tail(self, lines: int = 30) -> str:
        """The end of the broker's logs, to show why it did not start."""
        parts = [
            (path, tail(path, lines)) for path in (self.files.server_log, self.files.console_log)
        ]
        return "\n".join(f"--- {path}\n{text}" for path, text in parts if text)


# --- Kafka requests -------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_aiokafka() -> Iterator[None]:
    """Silence aiokafka's connection errors while a broker is expected not to answer yet."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def _await_metadata(bootstrap: str, deadline: float, alive: Callable[[], bool],
                          options: Mapping[str, Any] | None = None) -> None:
    """Ask for cluster metadata until a broker is listed, the deadline passes or ``alive`` fails
    (``options``: the client's security options)."""
    with _quiet_aiokafka():
        while alive():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DependencyUnavailable(f"no Kafka broker answered at {bootstrap} in time")
            client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5000,
                                    **(options or {}))
            try:
                await asyncio.wait_for(client.bootstrap(), timeout=min(remaining, 5.0))
                if client.cluster.brokers():
                    return
            except (TimeoutError, kafka_errors.KafkaError, OSError):
                pass
            finally:
                await client.close()
            await asyncio.sleep(0.25)


def wait_until_answers(bootstrap: str, timeout: float = 60.0) -> None:
    """Return once a broker at ``bootstrap`` answers; else DependencyUnavailable."""
    asyncio.run(_await_metadata(bootstrap, time.monotonic() + timeout, lambda: True))
