"""The signing benchmark returns a rate for both algorithms."""

from __future__ import annotations

import pytest

from pipeline.certificate.bench import bench_signing


@pytest.mark.parametrize("algorithm", ["rsa", "ecdsa"])
def test_bench_signing_reports_certificates_per_second(algorithm: str) -> None:
    rate = bench_signing(0.2, algorithm)
    assert rate > 1.0


def test_bench_signing_refuses_an_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="dsa"):
        bench_signing(0.1, "dsa")
