"""``eco alerts [--follow] [--json]``: clearance-exception alerts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipeline import feeds
from pipeline.cli import EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable
from pipeline.events import Envelope
from pipeline.settings import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "alerts", help="clearance-exception alerts",
        description="List clearance-exception alerts (each once), optionally following new ones.")
    parser.add_argument("--follow", action="store_true", help="keep printing new alerts")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(run=run)


def alert_json(envelope: Envelope) -> dict[str, Any]:
    data = dict(envelope.data)
    data["raised_at"] = data["raised_at"].isoformat()
    return data


def render(envelope: Envelope) -> str:
    d = envelope.data
    return (f"{d['raised_at']:%Y-%m-%d %H:%M:%S}  {d['severity']:<8} {d['kind']:<22} "
            f"{d['application_id']}  {d.get('certificate_number') or '-'}  "
            f"{d.get('importing_country') or '-'}\n    {d['summary']}\n"
            f"    action: {d['suggested_action']}")


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()

    def show(envelope: Envelope) -> None:
        print(json.dumps(alert_json(envelope)) if args.json else render(envelope), flush=True)

    try:
        feeds.run(feeds.read_alerts(settings.kafka_bootstrap, follow=args.follow, on_alert=show))
    except DependencyUnavailable as exc:
        print(f"eco alerts: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    return EXIT_OK
