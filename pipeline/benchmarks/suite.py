"""The benchmark suite of ``eco bench``: the in-process figures (origin, signing, codec, the
pure work of a whole journey), then optionally every end-to-end measurement on one stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.benchmarks.codec import bench_codec
from pipeline.benchmarks.purework import bench_pure_work
from pipeline.benchmarks.report import Figure
from pipeline.benchmarks.runs import LoadPlan, headline_of, run_load
from pipeline.certificate.bench import bench_signing
from pipeline.origin.bench import bench_determinations

ITEMS = 10
"""Items in the origin benchmark's generated application."""


@dataclass(frozen=True)
class SuitePlan:
    """What to run: seconds per in-process benchmark, and the end-to-end load if wanted."""

    seconds: float = 3.0
    pipeline: bool = True
    load: LoadPlan = field(default_factory=LoadPlan)

    @classmethod
    def quick(cls, pipeline: bool = True, soak: float = 0.0) -> SuitePlan:
        """About a second per benchmark and a short end-to-end load."""
        load = LoadPlan.quick()
        return cls(1.0, pipeline, LoadPlan(**{**load.__dict__, "soak_seconds": soak}))

    def settings(self) -> dict[str, Any]:
        """What the run was asked to do, for the JSON document."""
        load = self.load
        return {"seconds": self.seconds, "pipeline": self.pipeline,
                **({"flat_out": load.flat_out, "offered": list(load.offered),
                    "offered_seconds": load.offered_seconds,
                    "two_workers": load.two_workers, "soak_seconds": load.soak_seconds,
                    "soak_rate": load.soak_rate}
                   if self.pipeline else {})}


@dataclass(frozen=True)
class SuiteResult:
    """The figures of a run, its headline values, and remarks on anything that did not go to
    plan."""

    figures: tuple[Figure, ...]
    notes: tuple[str, ...] = field(default=())
    headline: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.notes


def in_process_figures(seconds: float, say: Callable[[str], None]) -> list[Figure]:
    """The origin, signing, codec and pure-work figures, each measured for about ``seconds``."""
    say("origin determinations ...")
    determinations = bench_determinations(seconds)
    say("certificate signing (RSA, ECDSA) ...")
    rsa, ecdsa = bench_signing(seconds, "rsa"), bench_signing(seconds, "ecdsa")
    say("event codec ...")
    codec = bench_codec(seconds)
    say("pure work of whole journeys ...")
    pure = bench_pure_work(seconds)
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
        Figure("pure_work.journeys", pure, "certificates/s",
               "whole journeys computed in-process on one core: examine, build, sign, check "
               "the signer, encode and decode every event"),
        Figure("pure_work.ms", 1000 / pure if pure else 0.0, "ms/application",
               "the same, CPU per journey"),
    ]


def run_suite(plan: SuitePlan, say: Callable[[str], None]) -> SuiteResult:
    """Every benchmark of ``plan``, in order; progress goes to ``say``."""
    figures = in_process_figures(plan.seconds, say)
    pure = next(f.value for f in figures if f.name == "pure_work.journeys")
    if not plan.pipeline:
        return SuiteResult(tuple(figures), (), headline_of_in_process(pure))
    measured = run_load(plan.load, say)
    return SuiteResult(tuple(figures + measured.figures), tuple(measured.notes),
                       headline_of(measured, pure))


def headline_of_in_process(pure: float) -> dict[str, Any]:
    """The headline of a run without the end-to-end load: only the pure-work rate is known."""
    from pipeline.benchmarks.runs import Measured

    return headline_of(Measured(), pure)
