"""The file-drop intake: XML application documents put into a directory are submitted, each
file then moved to ``done/``, or to ``failed/`` with ``<file>.reason.txt`` beside it saying
what is wrong and where.

Only ``*.xml`` files are picked up: a writer writes under another name (``.part``, say) and
renames when done, so a half-written file is never read. A file that cannot be published
because the broker is away stays where it is and is tried again on the next scan. The
directory itself is the trust boundary: whoever may write to it speaks for the exporters in
its documents (give each exporter its own directory and permissions).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from connectors.intake.documents import XML_V1, read_document
from pipeline.errors import DependencyUnavailable, InvalidInput, UnsafeXml
from pipeline.events import Envelope
from pipeline.submission import Submission, submission

log = structlog.get_logger("eco.intake")
Publisher = Callable[[Sequence[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    file: str
    application_id: str | None
    reason: str | None


def examine(name: str, data: bytes) -> Submission | str:
    """The submission of one dropped file, or the reason it is refused (pure)."""
    try:
        document = read_document(data, XML_V1, source=name)
        return submission(document, source=name, via="FILE", document_format=XML_V1)
    except UnsafeXml as exc:
        return f"refused: {exc}"
    except InvalidInput as exc:
        return "\n".join(f"{p.path or '(document)'}: {p.message}" for p in exc.problems)


async def scan(directory: Path, publish: Publisher) -> list[Outcome]:
    """Submit every ``*.xml`` file in ``directory`` once; move each to done/ or failed/."""
    done, failed = directory / "done", directory / "failed"
    done.mkdir(parents=True, exist_ok=True)
    failed.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    for path in sorted(p for p in directory.glob("*.xml") if p.is_file()):
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("intake_file_unreadable", file=path.name, reason=str(exc))
            continue
        result = examine(path.name, data)
        if isinstance(result, str):
            (failed / f"{path.name}.reason.txt").write_text(result + "\n", encoding="utf-8")
            shutil.move(path, failed / path.name)
            log.info("intake_file_refused", file=path.name, reason=result.splitlines()[0])
            outcomes.append(Outcome(path.name, None, result))
            continue
        try:
            await publish([result.envelope])
        except DependencyUnavailable as exc:
            log.warning("intake_broker_unavailable", file=path.name, reason=str(exc))
            break  # the file stays; the next scan tries again
        shutil.move(path, done / path.name)
        log.info("intake_file_submitted", file=path.name,
                 application_id=result.application_id)
        outcomes.append(Outcome(path.name, result.application_id, None))
    return outcomes


async def watch(directory: Path, publish: Publisher, every: float,
                stop: Callable[[], bool] = lambda: False) -> None:
    """Scan ``directory`` every ``every`` seconds until ``stop()``."""
    while not stop():
        await scan(directory, publish)
        await asyncio.sleep(every)  # the polling interval of the drop directory
