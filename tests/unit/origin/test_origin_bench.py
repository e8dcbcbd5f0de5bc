"""The origin benchmark runs and reports a positive rate."""

from pipeline.origin.bench import bench_determinations, generated_document


def test_bench_reports_determinations_per_second():
    assert len(generated_document(10)["items"]) == 10
    assert bench_determinations(0.05) > 0
