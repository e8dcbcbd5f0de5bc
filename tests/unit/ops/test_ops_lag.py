"""Consumer lag from the offsets a consumer holds."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.lag import PartitionOffsets, faust_offsets, lags, partition_lag


def test_lag_is_the_high_watermark_minus_the_committed_offset() -> None:
    assert partition_lag(PartitionOffsets("eco.application", 0, 120, 100)) == 20
    assert partition_lag(PartitionOffsets("eco.application", 0, 100, 100)) == 0


def test_nothing_committed_yet_means_everything_is_lag() -> None:
    assert partition_lag(PartitionOffsets("eco.application", 3, 7, None)) == 7


def test_an_unknown_high_watermark_reports_nothing_rather_than_zero() -> None:
    assert partition_lag(PartitionOffsets("eco.application", 0, None, 4)) is None
    assert lags([PartitionOffsets("t", 0, None, 4), PartitionOffsets("t", 1, 9, 4)]) == {
        ("t", "1"): 5.0}


def test_a_committed_offset_ahead_of_a_stale_high_watermark_is_no_negative_lag() -> None:
    assert partition_lag(PartitionOffsets("t", 0, 10, 12)) == 0


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


class FakeConsumer:
    """The two calls Faust's consumer answers from memory, and its committed offsets."""

    def __init__(self) -> None:
        self._committed_offset = {TP("eco.issuance", 0): 3}

    def assignment(self) -> set[TP]:
        return {TP("eco.issuance", 0), TP("eco.issuance", 1)}

    def highwater(self, tp: TP) -> int:
        if tp.partition == 1:
            raise KeyError(tp)  # not fetched yet
        return 8


def test_faust_offsets_reads_assignment_highwaters_and_commits() -> None:
    found = sorted(faust_offsets(FakeConsumer()), key=lambda p: p.partition)
    assert found == [PartitionOffsets("eco.issuance", 0, 8, 3),
                     PartitionOffsets("eco.issuance", 1, None, None)]


def test_a_consumer_not_started_reports_no_partitions() -> None:
    class NotStarted:
        def assignment(self) -> set[TP]:
            raise RuntimeError("consumer not started")

    assert faust_offsets(NotStarted()) == []
