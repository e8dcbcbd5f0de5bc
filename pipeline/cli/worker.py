"""``eco worker [--stage NAME]...``: the Faust worker running every stage or the named ones."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from collections.abc import Iterable
from typing import Any

from pipeline.cli import EXIT_BAD_INPUT, EXIT_UNREACHABLE
from pipeline.configcheck import checked_settings, report
from pipeline.errors import ConfigurationError, DependencyUnavailable


def register(sub: Any) -> None:
    from agents import STAGES

    parser: argparse.ArgumentParser = sub.add_parser(
        "worker", help="run the pipeline's stages (Faust worker)",
        description="Run the Faust worker with every stage, or only the named ones.")
    parser.add_argument("--stage", action="append", choices=STAGES, metavar="NAME",
                        help=f"run only this stage (repeatable): {', '.join(STAGES)}")
    parser.set_defaults(run=run)


def member_id(instance_id: str, topics: Iterable[str]) -> str:
    """The static member id: the worker's instance id and a digest of the topics it reads. A
    version that reads other topics (a table added or removed) joins as a new member, since
    the broker would hand a returning static member its old assignment, topics it no longer
    reads included; the old member's partitions move after the session timeout."""
    digest = hashlib.sha256("\n".join(sorted(set(topics))).encode()).hexdigest()[:8]
    return f"{instance_id}-{digest}"


def run(args: argparse.Namespace) -> int:
    from faust.worker import Worker

    from agents import (
        COMPACTED_TOPICS,
        INTERNAL_TOPICS,
        PUBLIC_TOPICS,
        RETAINED_TOPICS,
        STAGES,
        build_app,
    )
    from pipeline.logs import configure_logging, logging_config
    from pipeline.topics import create_topics

    stages = args.stage or STAGES
    try:  # every problem of the configuration at once (pipeline/configcheck.py)
        settings = checked_settings(signing="issuance" in stages)
    except ConfigurationError as exc:
        print(report("eco worker", exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    configure_logging(settings.log_level, settings.log_format, settings.faust_log_level)
    app = build_app(settings, stages)
    # The tables' changelog topics too: a worker that joins before Faust created one never
    # learns its partitions, and a later rebalance then stops the stage that owns the table.
    changelogs = [table.changelog_topic.get_topic_name() for table in app.tables.values()]
    sources = {t for agent in app.agents.values() for t in getattr(agent.channel, "topics", ())}
    app.conf.consumer_group_instance_id = member_id(settings.group_instance_id(),
                                                    [*sources, *changelogs])
    try:
        asyncio.run(create_topics(settings.kafka_bootstrap,
                                  [*PUBLIC_TOPICS, *INTERNAL_TOPICS],
                                  settings.kafka_partitions,
                                  compacted=[*COMPACTED_TOPICS, *changelogs],
                                  retained=RETAINED_TOPICS, configs={
                                      table.changelog_topic.get_topic_name():
                                      dict(table.extra_topic_configs)
                                      for table in app.tables.values()}))
    except DependencyUnavailable as exc:
        print(f"eco worker: {exc} (start one with `eco kafka start`)", file=sys.stderr)
        return EXIT_UNREACHABLE
    # Faust's worker configures logging again when it starts: with the same handler.
    worker = Worker(app, loglevel=settings.log_level, quiet=True,
                    logging_config=logging_config(settings.log_level, settings.log_format,
                                                  settings.faust_log_level))
    worker.execute_from_commandline()
    return 0
