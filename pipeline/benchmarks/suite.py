"""The benchmark suite of ``eco bench``: the in-process figures (origin, signing, codec),
then optionally the end-to-end run against a real broker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.benchmarks.codec import bench_codec
from pipeline.benchmarks.endtoend import PipelineFigures, bench_pipeline
from pipeline.benchmarks.report import Figure
from pipeline.certificate.bench import bench_signing
from pipeline.origin.bench import bench_determinations

ITEMS = 10
"""Items in the origin benchmark's generated application."""


@dataclass(frozen=True)
class SuitePlan:
    """What to run: seconds per in-process benchmark, and the end-to-end run if wanted."""

    seconds: float = 3.0
    pipeline: bool = True
    applications: int = 200

    @classmethod
    def quick(cls, pipeline: bool = True, applications: int | None = None) -> SuitePlan:
        """About a second per benchmark and 40 applications end to end."""
        return cls(1.0, pipeline, 40 if applications is None else applications)


@dataclass(frozen=True)
class SuiteResult:
    """The figures of a run and remarks on anything that did not go to plan."""

    figures: tuple[Figure, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.notes


def in_process_figures(seconds: float, say: Callable[[str], None]) -> list[Figure]:
    """The origin, signing and codec figures, each measured for about ``seconds``."""
    say("origin determinations ...")
    determinations = bench_determinations(seconds)
    say("certificate signing (RSA, ECDSA) ...")
    rsa, ecdsa = bench_signing(seconds, "rsa"), bench_signing(seconds, "ecdsa")
    say("event codec ...")
    codec = bench_codec(seconds)
    return [
        Figure("origin.determinations", determinations, "items/s",
               f"item origin determinations, {ITEMS}-item applications"),
        Figure("origin.applications", determinations / ITEMS, "applications/s",
               f"{ITEMS}-item applications examined"),
        Figure("signing.rsa", rsa, "certificates/s", "certificates built and signed, RSA-2048"),
        Figure("signing.ecdsa", ecdsa, "certificates/s",
               "certificates built and signed, ECDSA P-256"),
        Figure("codec.verification_completed", codec, "events/s",
               f"verification.completed events encoded+decoded, {ITEMS} items"),
    ]


def pipeline_figures(run: PipelineFigures) -> tuple[list[Figure], list[str]]:
    """The end-to-end figures, and a note when some applications did not reach ACCEPTED
    (then the pipeline rate is left out: it would not measure a whole run)."""
    figures = [
        Figure("kafka.broker_start", run.broker_start_seconds, "s",
               "fresh one-node broker, start until it answers"),
        Figure("kafka.produce", run.produce_per_second, "records/s",
               f"{run.applications} submissions produced one acknowledged record at a time"),
    ]
    if run.accepted < run.applications:
        note = (f"only {run.accepted} of {run.applications} applications reached ACCEPTED "
                f"within the deadline; no end-to-end rate")
        return figures, [note]
    figures += [
        Figure("pipeline.applications", run.applications_per_second, "applications/s",
               f"{run.applications} applications, submitted until all ACCEPTED"),
        Figure("pipeline.seconds", run.end_to_end_seconds, "s",
               f"{run.applications} applications, submitted until all ACCEPTED"),
    ]
    return figures, []


def run_suite(plan: SuitePlan, say: Callable[[str], None]) -> SuiteResult:
    """Every benchmark of ``plan``, in order; progress goes to ``say``."""
    figures = in_process_figures(plan.seconds, say)
    notes: list[str] = []
    if plan.pipeline:
        run = bench_pipeline(plan.applications, say)
        more, notes = pipeline_figures(run)
        figures += more
    return SuiteResult(tuple(figures), tuple(notes))
