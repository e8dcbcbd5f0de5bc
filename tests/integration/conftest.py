from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Stack

# A session fixture: one demo-like run watched by Prometheus and Alertmanager, for the alerting
# and the dashboard tests.
from tests.integration.observed import observed_run  # noqa: F401


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A broker, the sandbox customs and a worker with every stage, for one test module."""
    home: Path = tmp_path_factory.mktemp("stack")
    with Stack.started(home) as stack:
        stack.start_sandbox()
        stack.start_worker()
        yield stack


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Soak variants run only when the marker expression asks for them (``-m soak``)."""
    if "soak" in (config.getoption("markexpr") or ""):
        return
    kept = [item for item in items if item.get_closest_marker("soak") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
