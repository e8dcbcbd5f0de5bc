"""The worker's static member id names the topics it reads: a version that reads other topics
joins as a new member instead of being handed its old assignment."""

from __future__ import annotations

from pipeline.cli.worker import member_id


def test_the_member_id_changes_with_the_topics_read_and_only_with_them() -> None:
    topics = ["eco.application", "eco-pipeline-status-counts-changelog"]
    first = member_id("worker-0", topics)
    assert first.startswith("worker-0-")
    assert member_id("worker-0", list(reversed(topics)) + topics[:1]) == first
    assert member_id("worker-0", [*topics, "eco-pipeline-transmission-seen-changelog"]) != first
    assert member_id("worker-1", topics) != first
