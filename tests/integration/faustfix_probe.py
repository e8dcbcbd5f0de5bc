"""A one-agent Faust worker built like the pipeline's (``pipeline.app.create_app``, so with the
corrections of ``pipeline/faustfix.py``), that writes ``partition offset`` for every record it
processes: ``python -m tests.integration.faustfix_probe TOPIC OUTFILE``."""

from __future__ import annotations

import sys
from pathlib import Path

from faust.worker import Worker

from pipeline.app import create_app
from pipeline.settings import Settings


def main(topic: str, out: Path) -> None:
    app = create_app(Settings.from_env())
    source = app.topic(topic, key_type=bytes, value_type=bytes, key_serializer="raw",
                       value_serializer="raw")

    @app.agent(source, concurrency=1)
    async def probe(stream):  # type: ignore[no-untyped-def]
        with out.open("a", encoding="ascii") as handle:
            async for event in stream.events():
                handle.write(f"{event.message.partition} {event.message.offset}\n")
                handle.flush()

    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
