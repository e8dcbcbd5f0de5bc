"""The stages: one module each, installed on a Faust app by :func:`build_app`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import faust

from pipeline.settings import Settings

STAGES = ("registers", "trust", "verification", "issuance", "transmission", "exceptions",
          "status")

# Topics the pipeline uses; all co-partitioned (same key, same number of partitions).
PUBLIC_TOPICS = ("eco.application", "eco.verification", "eco.issuance", "eco.transmission",
                 "eco.customs-response", "eco.alert", "eco.deadletter",
                 "eco.supplier-declaration", "eco.origin-determination",
                 "eco.issuance-commands", "eco.trust")
INTERNAL_TOPICS = ("eco.issuance-requests", "eco.deadlines",
                   "eco.drawdown-requests")  # back-to-back draw-down, keyed by the original
COMPACTED_TOPICS = ("eco.status",)
# Kept for ever: the trust registry's history is the replay of every notification on it; the
# signed certificates and the requests they were built from are what the issuer's records
# point at (a correction or a certified true copy reads them back, years later).
RETAINED_TOPICS = ("eco.trust", "eco.issuance", "eco.issuance-requests")


def _installer(stage: str) -> Callable[[faust.App, Settings], None]:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    module = importlib.import_module(f"agents.{stage}")
    install: Callable[[faust.App, Settings], None] = module.install
    return install


def build_app(settings: Settings, stages: Sequence[str] = STAGES) -> faust.App:
    """A Faust app running the given stages, with the worker's HTTP server."""
    from agents.web import WorkerWeb
    from pipeline.app import create_app

    app = create_app(settings)
    for stage in stages:
        _installer(stage)(app, settings)
    app.web_server(WorkerWeb(app, settings))
    return app
