"""The local Kafka launcher without a broker: addresses, properties, versions, pids, runtime."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNREACHABLE, main
from pipeline.errors import DependencyUnavailable
from pipeline.localkafka import (
    DEPLOY_DIR,
    BrokerAddress,
    KafkaFiles,
    LocalKafka,
    broker_address,
    java_major_version,
    new_cluster_id,
    parse_host_port,
    parse_pid,
    process_alive,
    server_properties,
    tail,
)
from pipeline.services import free_port

HOSTS = st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True)
PORTS = st.integers(min_value=1, max_value=65535)


def properties_of(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))
    return dict(pairs)


# --- addresses -------------------------------------------------------------------------------


@given(HOSTS, PORTS)
def test_bootstrap_round_trips_through_parse(host: str, port: int) -> None:
    assert parse_host_port(BrokerAddress(host, port, 1).bootstrap) == (host, port)


def test_ipv6_hosts_are_bracketed() -> None:
    address = broker_address("[::1]:9092")
    assert address == BrokerAddress("::1", 9092, 9093)
    assert address.bootstrap == "[::1]:9092"
    assert address.endpoint(9093) == "[::1]:9093"


@pytest.mark.parametrize(
    "text", ["", "localhost", "localhost:", "a:b", "h:0", "h:65536", "a:1,b:2", ":9092"]
)
def test_malformed_bootstrap_is_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(ValueError, match="ECO_KAFKA_BOOTSTRAP"):
        broker_address(text)


def test_controller_port_is_broker_port_plus_one_unless_set() -> None:
    assert broker_address("127.0.0.1:9092").controller_port == 9093
    assert broker_address("127.0.0.1:9092", "19999").controller_port == 19999


@pytest.mark.parametrize(
    ("bootstrap", "controller"),
    [("h:9092", "9092"), ("h:9092", "x"), ("h:9092", "0"), ("h:65535", None)],
)
def test_unusable_controller_port_is_refused(bootstrap: str, controller: str | None) -> None:
    with pytest.raises(ValueError, match="ECO_KAFKA_"):
        broker_address(bootstrap, controller)


# --- server.properties -----------------------------------------------------------------------


def test_properties_describe_one_combined_node(tmp_path: Path) -> None:
    settings = properties_of(server_properties(BrokerAddress("127.0.0.1", 29092, 29093), tmp_path))
    assert settings["process.roles"] == "broker,controller"
    assert settings["node.id"] == "1"
    assert settings["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert settings["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert settings["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert settings["controller.listener.names"] == "CONTROLLER"
    assert settings["inter.broker.listener.name"] == "PLAINTEXT"
    assert settings["log.dirs"] == str(tmp_path)
    assert settings["num.partitions"] == "4"
    assert settings["group.initial.rebalance.delay.ms"] == "0"


def test_properties_use_replication_factor_one_everywhere(tmp_path: Path) -> None:
    settings = properties_of(server_properties(BrokerAddress("h", 1, 2), tmp_path, partitions=7))
    replication = {key: value for key, value in settings.items() if "replication" in key}
    assert set(replication.values()) == {"1"}
    assert len(replication) == 3
    assert settings["transaction.state.log.min.isr"] == "1"
    assert settings["share.coordinator.state.topic.min.isr"] == "1"
    assert settings["num.partitions"] == "7"


# --- java -version, pid files, cluster ids, logs ------------------------------------------------


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_292"', 8),
        ('openjdk version "11.0.2-ea" 2019-01-15', 11),
        ('openjdk version "25-ea" 2025-09-16', 25),
        ("bash: java: command not found", None),
        ("", None),
    ],
)
def test_java_major_version(output: str, major: int | None) -> None:
    assert java_major_version(output) == major


@given(st.integers(min_value=1, max_value=2**22))
def test_pid_file_round_trip(pid: int) -> None:
    assert parse_pid(f"{pid}\n") == pid


@pytest.mark.parametrize("text", ["", "\n", "abc", "-5", "0", "12 34", "1.5"])
def test_pid_file_with_anything_else_has_no_pid(text: str) -> None:
    assert parse_pid(text) is None


def test_cluster_id_is_sixteen_bytes_of_url_safe_base64() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_tail_keeps_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("".join(f"line {n}\n" for n in range(100)))
    assert tail(log, 3) == "line 97\nline 98\nline 99"
    assert tail(tmp_path / "absent.log") == ""


def test_files_live_under_the_kafka_home(tmp_path: Path) -> None:
    files = KafkaFiles.under(tmp_path)
    assert files.server_log == tmp_path / "logs" / "server.log"
    assert files.classpath == tmp_path / "classpath.txt"
    paths = [value for value in vars(files).values() if isinstance(value, Path)]
    assert all(path.is_relative_to(tmp_path) for path in paths)


def test_deploy_dir_ships_the_pom_and_the_logging_config() -> None:
    pom = (DEPLOY_DIR / "pom.xml").read_text()
    assert "<artifactId>kafka_2.13</artifactId>" in pom
    assert "log4j-slf4j2-impl" in pom
    assert "server.log" in (DEPLOY_DIR / "log4j2.xml").read_text()


# --- pid handling ----------------------------------------------------------------------------


def local_kafka(tmp_path: Path, env: dict[str, str] | None = None) -> LocalKafka:
    address = BrokerAddress("127.0.0.1", free_port(), free_port())
    return LocalKafka(address, tmp_path / "kafka", env=env)


def test_no_pid_file_means_not_running(tmp_path: Path) -> None:
    kafka = local_kafka(tmp_path)
    assert kafka.pid() is None
    assert not kafka.is_running()
    assert kafka.stop() is None


def test_pid_of_another_program_is_stale_and_stop_leaves_it_alone(tmp_path: Path) -> None:
    kafka = local_kafka(tmp_path)
    kafka.files.home.mkdir(parents=True)
    kafka.files.pid.write_text(f"{os.getpid()}\n")  # alive, but not a broker
    assert kafka.pid() is None
    assert kafka.stop() is None
    assert not kafka.files.pid.exists()
    assert process_alive(os.getpid())


def test_reaped_child_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitpid(child.pid, 0)
    child.returncode = 0
    assert not process_alive(child.pid)


def test_stop_ends_the_process_named_in_the_pid_file(tmp_path: Path) -> None:
    kafka = local_kafka(tmp_path)
    kafka.files.home.mkdir(parents=True)
    # A stand-in whose command line looks like this broker's: kafka.Kafka <its server.properties>.
    script = "import signal; print('ready', flush=True); signal.sigwait([signal.SIGTERM])"
    stand_in = subprocess.Popen(
        [sys.executable, "-c", script, "kafka.Kafka", str(kafka.files.server_properties)],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert stand_in.stdout is not None
        assert stand_in.stdout.readline() == b"ready\n"  # its command line is in place by now
        kafka.files.pid.write_text(f"{stand_in.pid}\n")
        assert kafka.pid() == stand_in.pid
        assert not kafka.is_running()  # nothing listens on its port
        assert kafka.stop(timeout=10) == stand_in.pid
        assert stand_in.wait(timeout=10) is not None
        assert not kafka.files.pid.exists()
        assert kafka.pid() is None
    finally:
        stand_in.kill()
        stand_in.wait()
        stand_in.communicate()


# --- runtime: Java and Maven -----------------------------------------------------------------


def fake_tool(directory: Path, name: str, stderr: str) -> None:
    tool = directory / name
    tool.write_text(f"#!/bin/sh\necho '{stderr}' >&2\n")
    tool.chmod(0o755)


def test_missing_java_names_the_package_to_install(tmp_path: Path) -> None:
    kafka = local_kafka(tmp_path, env={"PATH": str(tmp_path)})
    with pytest.raises(DependencyUnavailable, match="apt-get install openjdk-17-jre-headless"):
        kafka.ensure_runtime()


def test_old_java_is_refused_with_its_version(tmp_path: Path) -> None:
    fake_tool(tmp_path, "java", 'java version "1.8.0_292"')
    kafka = local_kafka(tmp_path, env={"PATH": str(tmp_path)})
    with pytest.raises(DependencyUnavailable, match=r"is Java 8; Kafka 4 needs Java 17\+"):
        kafka.ensure_runtime()


def test_missing_maven_is_named_when_the_classpath_is_not_resolved(tmp_path: Path) -> None:
    fake_tool(tmp_path, "java", 'openjdk version "17.0.15" 2025-04-15')
    kafka = local_kafka(tmp_path, env={"PATH": str(tmp_path)})
    with pytest.raises(DependencyUnavailable, match=r"Maven .*apt-get install"):
        kafka.ensure_runtime()


def test_cached_classpath_is_reused_while_the_pom_is_unchanged(tmp_path: Path) -> None:
    fake_tool(tmp_path, "java", 'openjdk version "21" 2023-09-19')
    kafka = local_kafka(tmp_path, env={"PATH": str(tmp_path)})  # no Maven on this PATH
    jar = tmp_path / "kafka.jar"
    jar.write_bytes(b"")
    kafka.files.home.mkdir(parents=True)
    kafka.files.classpath.write_text(f"{jar}\n")
    pom_digest = hashlib.sha256((DEPLOY_DIR / "pom.xml").read_bytes()).hexdigest()
    kafka.files.classpath_pom_digest.write_text(pom_digest)
    assert kafka.ensure_runtime() == (str(tmp_path / "java"), str(jar))
    kafka.files.classpath_pom_digest.write_text("0" * 64)  # the pom changed: Maven is needed
    with pytest.raises(DependencyUnavailable, match="Maven"):
        kafka.ensure_runtime()


# --- command line ----------------------------------------------------------------------------


def test_status_and_stop_without_a_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECO_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    assert main(["kafka", "status"]) == EXIT_UNREACHABLE
    assert "not running" in capsys.readouterr().out
    assert main(["kafka", "stop"]) == EXIT_OK


def test_malformed_bootstrap_is_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ECO_KAFKA_BOOTSTRAP", "localhost")
    assert main(["kafka", "status"]) == EXIT_BAD_INPUT
    assert "ECO_KAFKA_BOOTSTRAP='localhost'" in capsys.readouterr().err
