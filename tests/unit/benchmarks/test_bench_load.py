"""The bench's load comes from many exporters, as an office's real load does: no registrant
runs out of its 9,999 serials a year in a long soak."""

from __future__ import annotations

from collections import Counter

from pipeline.benchmarks.runs import EXPORTERS, exporter_of


def test_the_load_spreads_over_many_registrations() -> None:
    sample = {"agreement": "RCEP", "exporter": {"id": "EXP-1", "registration_number": "440316501"}}
    per_registration = Counter(exporter_of(sample, n)["exporter"]["registration_number"]
                               for n in range(100_000))
    assert len(per_registration) == EXPORTERS
    assert all(len(r) == 9 and r.startswith("440316") for r in per_registration)
    assert sample["exporter"]["registration_number"] == "440316501"  # the sample untouched
    assert max(per_registration.values()) < 9_999  # no sequence runs out in a long soak
