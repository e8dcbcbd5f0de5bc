"""``eco deadletter list | show | replay``: dead letters by stage, reason or time; replay
re-drives them to their original topic with their original event ids (docs/deadletters.md).

Exit codes: 0 success, 1 nothing matched (``show`` of an unknown dead letter, ``replay`` with
nothing to replay), 2 bad usage, 3 the broker is unreachable.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "deadletter", help="list, show and replay dead letters",
        description="Dead letters of eco.deadletter. REF is PARTITION:OFFSET (as `list` "
        "prints it) or the original event id (ce_id).")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name, helptext in (("list", "dead letters matching the selection"),
                           ("show", "headers and decoded event of dead letters"),
                           ("replay", "re-drive dead letters to their original topic")):
        verb = verbs.add_parser(name, help=helptext, description=helptext)
        verb.add_argument("refs", nargs="*", metavar="REF", help="only these dead letters")
        verb.add_argument("--stage", help="only those of this stage (verification, ...)")
        verb.add_argument("--reason", metavar="TEXT",
                          help="only those whose reason or error class contains TEXT")
        verb.add_argument("--since", metavar="WHEN",
                          help="dead-lettered at or after WHEN (2026-05-20T08:00Z, or 2h ago)")
        verb.add_argument("--until", metavar="WHEN", help="dead-lettered before WHEN")
        if name == "list":
            verb.add_argument("--json", action="store_true", help="one JSON object per line")
        if name == "replay":
            verb.add_argument("--dry-run", action="store_true",
                              help="say what would be replayed, send nothing")
            verb.add_argument("--again", action="store_true",
                              help="also replay dead letters that were replayed before")
        verb.set_defaults(run=run)


def _selection(args: argparse.Namespace) -> Any:
    from pipeline.deadletters import Selection, parse_moment

    now = datetime.now(UTC)
    return Selection(
        stage=args.stage, reason=args.reason,
        since=parse_moment(args.since, now) if args.since else None,
        until=parse_moment(args.until, now) if args.until else None,
        refs=frozenset(args.refs))


def run(args: argparse.Namespace) -> int:
    from pipeline.settings import Settings

    try:
        settings = Settings.from_env()
        selection = _selection(args)
    except ValueError as exc:
        print(f"eco deadletter {args.verb}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.verb == "list":
            return _list(settings.kafka_bootstrap, selection, as_json=args.json)
        if args.verb == "show":
            return _show(settings.kafka_bootstrap, selection)
        return _replay(settings, selection, dry_run=args.dry_run, again=args.again)
    except DependencyUnavailable as exc:
        print(f"eco deadletter {args.verb}: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


def _letters(bootstrap: str, selection: Any) -> list[Any]:
    from pipeline import feeds
    from pipeline.deadletters import DEADLETTER_TOPIC, read_dead_letter, select

    async def collect() -> list[Any]:
        return [read_dead_letter(r.partition, r.offset, r.key, r.value, list(r.headers or ()),
                                 r.timestamp)
                async for r in feeds.read_topic(bootstrap, DEADLETTER_TOPIC)]

    letters: list[Any] = select(feeds.run(collect()), selection)
    return letters


def _list(bootstrap: str, selection: Any, *, as_json: bool) -> int:
    from pipeline.deadletters import summary

    letters = _letters(bootstrap, selection)
    for letter in letters:
        if as_json:
            print(json.dumps(summary(letter)))
        else:
            when = letter.time.strftime("%Y-%m-%dT%H:%M:%SZ") if letter.time else "-"
            print(f"{letter.ref:<10} {when:<21} {letter.stage or '-':<13} "
                  f"{letter.topic or '-':<22} {letter.error or '-'}: {letter.reason[:80]}")
    if not as_json:
        print(f"{len(letters)} dead letter(s)", file=sys.stderr)
    return EXIT_OK


def _show(bootstrap: str, selection: Any) -> int:
    from pipeline import events
    from pipeline.errors import EcoError

    letters = _letters(bootstrap, selection)
    if not letters:
        print("eco deadletter show: no dead letter matches", file=sys.stderr)
        return EXIT_NEGATIVE
    for letter in letters:
        print(f"== dead letter {letter.ref} (eco.deadletter partition {letter.partition}, "
              f"offset {letter.offset})")
        print(f"key: {letter.key.decode('utf-8', errors='replace') if letter.key else '-'}")
        for name, value in letter.headers:
            print(f"  {name}: {value.decode('utf-8', errors='replace')[:500]}")
        try:
            envelope = events.from_record(letter.key, letter.value,
                                          list(letter.original_headers))
        except EcoError as exc:
            size = len(letter.value or b"")
            print(f"value: {size} bytes, not a decodable event ({exc})")
        else:
            print(f"event {envelope.type} {envelope.id} about {envelope.subject}:")
            print(json.dumps(envelope.data, indent=2, default=str, sort_keys=True)[:20000])
    return EXIT_OK


def _replay(settings: Any, selection: Any, *, dry_run: bool, again: bool) -> int:
    from pipeline import feeds
    from pipeline.deadletters import REPLAY_TOPIC, replay_of, replayed_refs

    letters = _letters(settings.kafka_bootstrap, selection)
    if not letters:
        print("eco deadletter replay: no dead letter matches", file=sys.stderr)
        return EXIT_NEGATIVE

    async def earlier() -> list[bytes | None]:
        return [r.value async for r in feeds.read_topic(settings.kafka_bootstrap, REPLAY_TOPIC)]

    done = replayed_refs(feeds.run(earlier()))
    todo = [letter for letter in letters if again or letter.ref not in done]
    for letter in letters:
        if letter not in todo:
            print(f"{letter.ref}: replayed before ({done[letter.ref]}x), skipped "
                  "(--again replays it once more)")
    now = datetime.now(UTC)
    by = _operator()
    try:
        replays = [replay_of(letter, str(uuid.uuid4()), now, by) for letter in todo]
    except ValueError as exc:
        print(f"eco deadletter replay: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for letter, replay in zip(todo, replays, strict=True):
        print(f"{letter.ref}: {'would replay' if dry_run else 'replaying'} to {replay.topic} "
              f"(ce_id {letter.event_id or '-'}, stage {letter.stage or '-'})")
    if not dry_run and replays:
        feeds.run(_send(settings, replays))
    if not todo:
        return EXIT_NEGATIVE
    print(f"{'would replay' if dry_run else 'replayed'} {len(todo)} dead letter(s)",
          file=sys.stderr)
    return EXIT_OK


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


async def _send(settings: Any, replays: Sequence[Any]) -> None:
    """Each replayed record, then its record on the replay topic, each acknowledged by the
    broker before the next (a crash in between shows the replay as not recorded: run again)."""
    from aiokafka.errors import KafkaError

    from pipeline import feeds
    from pipeline.deadletters import REPLAY_TOPIC
    from pipeline.topics import create_topics

    await create_topics(settings.kafka_bootstrap, [REPLAY_TOPIC], settings.kafka_partitions,
                        retained=[REPLAY_TOPIC])
    producer = await feeds.start_producer(settings.kafka_bootstrap)
    try:
        for replay in replays:
            await producer.send_and_wait(replay.topic, replay.value, key=replay.key,
                                         headers=list(replay.headers))
            await producer.send_and_wait(REPLAY_TOPIC, replay.record, key=replay.key,
                                         headers=replay.record_headers)
    except KafkaError as exc:
        raise DependencyUnavailable(f"cannot replay to {settings.kafka_bootstrap}: {exc}"
                                    ) from exc
    finally:
        await producer.stop()
