"""The figures a benchmark run produced, the ratios between them, and their two renderings:
a table for people and a JSON object for tools."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured value: ``name`` is a stable key (``signing.rsa``), ``what`` says it in words."""

    name: str
    value: float
    unit: str
    what: str


@dataclass(frozen=True)
class Ratio:
    """``numerator`` divided by ``denominator``, two figures of the same run on the same machine."""

    name: str
    numerator: str
    denominator: str
    what: str


@dataclass(frozen=True)
class RatioValue:
    """A ratio worked out from a run's figures."""

    ratio: Ratio
    value: float


RATIOS: tuple[Ratio, ...] = (
    Ratio("signing.rsa/ecdsa", "signing.rsa", "signing.ecdsa",
          "RSA-2048 signing speed relative to ECDSA P-256"),
    Ratio("codec/origin", "codec.verification_completed", "origin.applications",
          "codec round trips done in the time one 10-item application is examined"),
    Ratio("origin/signing.rsa", "origin.applications", "signing.rsa",
          "10-item applications examined per certificate signed (RSA)"),
    Ratio("pipeline/pure_work", "pipeline.flat_out", "pure_work.journeys",
          "one worker flat out as a share of the pure work of a journey on one core"),
    Ratio("pipeline/machine_bound", "pipeline.flat_out_overall", "cpu.flat.machine_bound",
          "the flat-out rate, over the span its CPU was measured, over what the cores allow "
          "at that CPU per application: near 1, the machine's CPU is what bounds it"),
    Ratio("worker_main/pure_work", "cpu.flat.worker_main_ms", "pure_work.ms",
          "the worker's main thread's CPU per application over the pure work's, flat out"),
    Ratio("pipeline/kafka.produce", "pipeline.flat_out", "kafka.produce_batched",
          "certificates per record the same client produces in batches: the Kafka floor"),
    Ratio("pipeline/signing.rsa", "pipeline.flat_out", "signing.rsa",
          "end-to-end rate as a share of the bare signing rate"),
    Ratio("two_workers/one", "two_workers.throughput", "pipeline.flat_out",
          "two workers' rate over one worker's"),
    Ratio("rss.peak/before", "worker.rss_peak", "worker.rss_before",
          "worker memory at its peak over before the load"),
    Ratio("rss.after/before", "worker.rss_after", "worker.rss_before",
          "worker memory after the load over before it"),
)
"""The ratios worth reading; each is shown when both of its figures were measured."""


def ratios_of(figures: Sequence[Figure], ratios: Sequence[Ratio] = RATIOS) -> list[RatioValue]:
    """The ratios whose two figures are both present and whose denominator is not zero."""
    by_name = {figure.name: figure.value for figure in figures}
    worked = []
    for ratio in ratios:
        top, bottom = by_name.get(ratio.numerator), by_name.get(ratio.denominator)
        if top is not None and bottom:
            worked.append(RatioValue(ratio, top / bottom))
    return worked


def _number(value: float) -> str:
    """A figure with three significant digits at least, without a float's noise."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(figures: Sequence[Figure], notes: Sequence[str] = ()) -> str:
    """The figures, then the ratios, as aligned text columns."""
    name_width = max([len("figure"), *(len(f.name) for f in figures)])
    lines = [f"{'figure':<{name_width}}  {'value':>12}  {'unit':<16}  what",
             "-" * (name_width + 60)]
    for figure in figures:
        lines.append(f"{figure.name:<{name_width}}  {_number(figure.value):>12}  "
                     f"{figure.unit:<16}  {figure.what}")
    worked = ratios_of(figures)
    if worked:
        ratio_width = max(len(r.ratio.name) for r in worked)
        lines += ["", f"{'ratio':<{ratio_width}}  {'value':>10}  what",
                  "-" * (ratio_width + 60)]
        for item in worked:
            lines.append(f"{item.ratio.name:<{ratio_width}}  {item.value:>10.3g}  "
                         f"{item.ratio.what}")
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def as_json(figures: Sequence[Figure], settings: Mapping[str, Any],
            notes: Sequence[str] = (), headline: Mapping[str, Any] | None = None) -> str:
    """One JSON object on one line: the ``headline`` values first (``throughput_per_s`` and
    the others of docs/bench.md), then ``settings``, ``figures`` (name to value, unit and
    what), ``ratios`` (name to value) and ``notes``."""
    document = {
        **(headline or {}),
        "settings": dict(settings),
        "figures": {f.name: {"value": f.value, "unit": f.unit, "what": f.what} for f in figures},
        "ratios": {r.ratio.name: r.value for r in ratios_of(figures)},
        "notes": list(notes),
    }
    return json.dumps(document)
