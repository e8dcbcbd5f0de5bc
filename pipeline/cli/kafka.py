"""``eco kafka start|stop|status|fetch``: the local Apache Kafka broker (KRaft, one node).

Exit codes: 0 done or running, 2 a malformed setting, 3 Java or Maven missing, or the broker not
running or not answering.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import ConfigurationError, DependencyUnavailable
from pipeline.kafkasecure import secured_from_dir
from pipeline.localkafka import LocalKafka
from pipeline.settings import Settings


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``eco kafka`` and its three actions."""
    parser = subparsers.add_parser(
        "kafka",
        help="start, stop or look at the local Apache Kafka broker",
        description="A local Apache Kafka broker (KRaft, one node) with its data under "
        "ECO_DATA_DIR/kafka, listening on ECO_KAFKA_BOOTSTRAP.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = actions.add_parser(
        "start", help="start the broker (if needed) and wait until it answers"
    )
    start.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the broker (default 60)"
    )
    start.add_argument(
        "--sasl-ssl", type=Path, metavar="DIR", default=None,
        help="listen on SASL_SSL only (SCRAM-SHA-512) with ACLs enforced (docs/security.md): "
        "DIR holds broker.pem (PKCS#8 key and chain), ca.pem and users.json; the users are "
        "created when the storage is first formatted (use a fresh ECO_DATA_DIR)")
    actions.add_parser("stop", help="stop the broker started by `eco kafka start`")
    actions.add_parser("fetch", help="fetch Apache Kafka from Maven Central (once) and exit")
    actions.add_parser("status", help="say whether the broker runs; exit 0 if it does, 3 if not")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``args.action`` on the broker named by the ``ECO_*`` settings."""
    try:
        settings = Settings.from_env()
        kafka = LocalKafka.from_settings(settings)
        if getattr(args, "sasl_ssl", None) is not None:
            kafka.secured = secured_from_dir(args.sasl_ssl, settings.app_id)
    except ConfigurationError as exc:
        print(f"eco kafka: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as exc:
        print(f"eco kafka: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    action = {"start": _start, "stop": _stop, "status": _status, "fetch": _fetch}[args.action]
    try:
        return action(kafka, args)
    except DependencyUnavailable as exc:
        print(f"eco kafka {args.action}: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def _start(kafka: LocalKafka, args: argparse.Namespace) -> int:
    if kafka.is_running():
        print(f"Kafka broker already running at {kafka.bootstrap} (pid {kafka.pid()})")
        return EXIT_OK
    seconds = kafka.start(timeout=args.timeout)
    print(
        f"Kafka broker running at {kafka.bootstrap} (pid {kafka.pid()}), ready in {seconds:.1f} s"
    )
    print(f"data and logs: {kafka.files.home}")
    return EXIT_OK


def _fetch(kafka: LocalKafka, args: argparse.Namespace) -> int:
    java, classpath = kafka.ensure_runtime()
    jars = [jar for jar in classpath.split(":") if jar]
    print(f"Apache Kafka runtime ready: {len(jars)} jars, java {java}")
    return EXIT_OK


def _stop(kafka: LocalKafka, args: argparse.Namespace) -> int:
    pid = kafka.stop()
    print("Kafka broker not running" if pid is None else f"Kafka broker stopped (pid {pid})")
    return EXIT_OK


def _status(kafka: LocalKafka, args: argparse.Namespace) -> int:
    pid = kafka.pid()
    if pid is None:
        print(f"Kafka broker not running (bootstrap {kafka.bootstrap})")
        return EXIT_UNREACHABLE
    if not kafka.is_running():
        print(f"Kafka broker starting: pid {pid}, not answering yet at {kafka.bootstrap}")
        return EXIT_UNREACHABLE
    print(f"Kafka broker running: pid {pid}, bootstrap {kafka.bootstrap}")
    return EXIT_OK
