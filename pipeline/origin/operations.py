"""Minimal operations and processes, which do not confer origin (RCEP Art. 3.6).

The vocabulary is data (``data/minimal_operations.txt``). A good whose every
declared process is minimal cannot obtain origin through a change in tariff
classification; an empty list of processes denies nothing, since nothing was
declared.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources


def normalise_process(name: str) -> str:
    """Lower case with single spaces and no hyphens, so that ``Re-packing`` meets ``repacking``."""
    return " ".join(name.lower().replace("-", "").split())


def read_vocabulary(text: str) -> frozenset[str]:
    """Process names from text with one name a line; blank lines and ``#`` comments are skipped."""
    names = (line.strip() for line in text.splitlines())
    return frozenset(normalise_process(n) for n in names if n and not n.startswith("#"))


@cache
def minimal_operations() -> frozenset[str]:
    """The shipped vocabulary of minimal operations, normalised."""
    data = resources.files("pipeline.origin").joinpath("data/minimal_operations.txt")
    return read_vocabulary(data.read_text("utf-8"))


def only_minimal_operations(
    processes: Iterable[str], vocabulary: frozenset[str] | None = None
) -> bool:
    """True when at least one process is declared and every one is a minimal operation."""
    known = minimal_operations() if vocabulary is None else vocabulary
    declared = [normalise_process(p) for p in processes]
    return bool(declared) and all(p in known for p in declared)
