"""The trust stage's wiring: the stage, its topic kept for ever, and the global table that
every worker declares so the issuance stage and ``/trust`` read the same registry."""

from __future__ import annotations

from pathlib import Path

from agents import PUBLIC_TOPICS, RETAINED_TOPICS, STAGES, build_app
from agents.trust import TRUST_TABLE, trust_view
from pipeline.settings import Settings
from pipeline.topics import _configs


def test_the_trust_stage_and_topic_are_wired() -> None:
    assert "trust" in STAGES
    assert "eco.trust" in PUBLIC_TOPICS and "eco.trust" in RETAINED_TOPICS
    assert _configs("eco.trust", set(), set(RETAINED_TOPICS)) == {
        "retention.ms": "-1", "retention.bytes": "-1"}
    assert _configs("eco.status", {"eco.status"}, set()) == {"cleanup.policy": "compact"}


def test_the_trust_stage_declares_the_global_table_every_worker_reads(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    app = build_app(settings, ["trust"])
    table = app.tables[TRUST_TABLE]
    assert type(table).__name__ == "GlobalTable"
    assert trust_view(app, settings).notifications is table  # one view, shared by the stages
    assert "eco.trust" in {t for agent in app.agents.values()
                           for t in agent.channel.topics}  # type: ignore[attr-defined]
