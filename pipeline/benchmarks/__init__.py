"""Benchmarks of ``eco bench`` (``make bench``): what each figure measures is in docs/bench.md.

``run_suite`` measures; ``table`` and ``as_json`` render the figures and their ratios.
"""

from pipeline.benchmarks.codec import bench_codec, verification_payload
from pipeline.benchmarks.report import RATIOS, Figure, Ratio, RatioValue, as_json, ratios_of, table
from pipeline.benchmarks.runs import LoadPlan
from pipeline.benchmarks.suite import SuitePlan, SuiteResult, run_suite

__all__ = [
    "RATIOS",
    "Figure",
    "LoadPlan",
    "Ratio",
    "RatioValue",
    "SuitePlan",
    "SuiteResult",
    "as_json",
    "bench_codec",
    "ratios_of",
    "run_suite",
    "table",
    "verification_payload",
]
