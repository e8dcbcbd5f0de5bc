"""``eco status ID [--follow] [--json]``: state and history of one application."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from pipeline import feeds
from pipeline.cli import EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable
from pipeline.settings import Settings
from pipeline.states import SETTLED, State


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "status", help="state and history of an application",
        description="Show the state and history of one application and its certificate.")
    parser.add_argument("id", metavar="ID", help="the application id")
    parser.add_argument("--follow", action="store_true",
                        help="keep printing changes until the journey settles (Ctrl-C stops)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def render(status: dict[str, Any]) -> str:
    """A person's view of one status record."""
    lines = [f"{status['application_id']}: {status['state']}"]
    if status.get("certificate_number"):
        lines[0] += f"  certificate {status['certificate_number']}"
    if status.get("importing_country"):
        lines[0] += f"  to {status['importing_country']}"
    for entry in status.get("history", []):
        state = entry.get("state") or ""
        lines.append(f"  {entry['at'][:19]}  {state:<22} {entry['detail']}")
    for reason in status.get("reasons", []):
        lines.append(f"  reason: {reason}")
    if status.get("alerts"):
        lines.append(f"  alerts: {', '.join(status['alerts'])}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        if args.follow:
            return asyncio.run(_follow(settings, args))
        found = feeds.run(feeds.latest_statuses(settings.kafka_bootstrap, [args.id]))
    except DependencyUnavailable as exc:
        print(f"eco status: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    status = found.get(args.id)
    if status is None:
        print(f"eco status: no application {args.id!r} is known", file=sys.stderr)
        return EXIT_NEGATIVE
    print(json.dumps(status, indent=2) if args.json else render(status))
    return EXIT_OK


async def _follow(settings: Settings, args: argparse.Namespace) -> int:
    def show(_: str, status: dict[str, Any]) -> None:
        print(json.dumps(status) if args.json else render(status) + "\n", flush=True)

    await feeds.wait_for_statuses(
        settings.kafka_bootstrap, [args.id], lambda s: State(s["state"]) in SETTLED,
        timeout=float("inf"), on_change=show)
    return EXIT_OK
