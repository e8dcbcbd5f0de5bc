"""``eco receiver``: the customs callback receiver and the reconciliation poller, a process of
its own beside the worker, so that decisions are recorded while the worker is down."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable
from pipeline.settings import Settings

if TYPE_CHECKING:
    from connectors.customs.status import CustomsStatus


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "receiver", help="receive customs decisions and reconcile missing ones",
        description="Serve POST /v1/customs/{country}/responses on ECO_RECEIVER_HOST:"
        "ECO_RECEIVER_PORT, writing each signed response to eco.customs-response before "
        "answering 2xx, and ask the customs about certificates awaiting a decision for longer "
        "than ECO_RECONCILE_AFTER.")
    parser.add_argument("--no-reconcile", action="store_true",
                        help="only receive callbacks; do not run the reconciliation poller")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.logs import configure_logging

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"eco receiver: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    configure_logging(settings.log_level)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # one log line per event, as it happens
    try:
        asyncio.run(_serve(settings, reconcile=not args.no_reconcile))
    except DependencyUnavailable as exc:
        print(f"eco receiver: {exc} (start one with `eco kafka start`)", file=sys.stderr)
        return EXIT_UNREACHABLE
    except OSError as exc:
        print(f"eco receiver: cannot serve on {settings.receiver_host}:"
              f"{settings.receiver_port}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _status_calls(settings: Settings) -> dict[str, CustomsStatus]:
    from connectors.customs.registry import CountryRegistry
    from connectors.customs.status import HttpCustomsStatus
    from connectors.customs.tls import customs_client_context

    registry = CountryRegistry.from_settings(settings)
    context = customs_client_context(settings)

    def codes_of(country: str) -> Callable[[str], str]:
        return lambda code: registry.map_status(country, code)

    return {
        country: HttpCustomsStatus(
            country, f"{settings.sandbox_url.rstrip('/')}/customs/{country}",
            settings.customs_trust, codes_of(country), ssl_context=context)
        for country in (c.upper() for c in settings.direct_countries)
    }


async def _serve(settings: Settings, *, reconcile: bool) -> None:
    from aiohttp import web

    from agents import INTERNAL_TOPICS, PUBLIC_TOPICS, RETAINED_TOPICS
    from connectors.customs.callbacks import ResponseRecorder, receiver_app
    from connectors.customs.reconcile import ReconciliationPoller
    from connectors.customs.signatures import signed_by_customs
    from pipeline.topics import create_topics

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await create_topics(settings.kafka_bootstrap, [*PUBLIC_TOPICS, *INTERNAL_TOPICS],
                        settings.kafka_partitions, retained=RETAINED_TOPICS)
    recorder = ResponseRecorder(settings.kafka_bootstrap)
    await recorder.start()
    runner = web.AppRunner(receiver_app(recorder, signed_by_customs(settings.customs_trust)),
                           access_log=None)
    poller_task: asyncio.Task[None] | None = None
    try:
        await runner.setup()
        await web.TCPSite(runner, settings.receiver_host, settings.receiver_port).start()
        if reconcile and settings.reconcile_after > 0:
            poller = ReconciliationPoller(
                settings.kafka_bootstrap, recorder, _status_calls(settings),
                after=settings.reconcile_after, every=settings.reconcile_every,
                rate=settings.reconcile_rate, batch=settings.reconcile_batch)
            poller_task = asyncio.create_task(poller.run())
        print(f"customs callback receiver listening on http://{settings.receiver_host}:"
              f"{settings.receiver_port}", flush=True)
        await stopping.wait()
    finally:
        if poller_task is not None:
            poller_task.cancel()
            await asyncio.gather(poller_task, return_exceptions=True)
        await runner.cleanup()
        await recorder.stop()
