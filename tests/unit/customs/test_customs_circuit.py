"""The circuit breaker of one customs endpoint: closed, open, half-open, closed again."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connectors.customs.circuit import CircuitBreaker


def test_it_opens_at_the_threshold_and_refuses_until_the_reset_time() -> None:
    circuit = CircuitBreaker(threshold=3, reset_after=10.0)
    circuit = circuit.failed(100.0).failed(101.0)
    assert not circuit.is_open and circuit.allows(101.0)
    circuit = circuit.failed(102.0)
    assert circuit.is_open and circuit.open_since == 102.0
    assert not circuit.allows(111.9)
    assert circuit.allows(112.0)  # half-open: one probe


def test_a_failed_probe_keeps_it_open_since_the_first_failure() -> None:
    circuit = CircuitBreaker(threshold=1, reset_after=5.0).failed(0.0)
    circuit = circuit.failed(6.0)
    assert circuit.is_open and circuit.open_since == 0.0
    assert not circuit.allows(10.0) and circuit.allows(11.0)
    assert circuit.open_for(26.0) == 26.0


def test_a_success_closes_it_and_starts_the_count_again() -> None:
    circuit = CircuitBreaker(threshold=2, reset_after=5.0).failed(0.0).failed(1.0)
    closed = circuit.succeeded()
    assert not closed.is_open and closed.allows(1.5) and closed.open_for(99.0) == 0.0
    assert not closed.failed(2.0).is_open


@given(st.integers(min_value=1, max_value=20), st.integers(min_value=0, max_value=40))
def test_it_is_open_exactly_when_the_failures_reach_the_threshold(threshold: int,
                                                                  failures: int) -> None:
    circuit = CircuitBreaker(threshold=threshold, reset_after=1.0)
    for n in range(failures):
        circuit = circuit.failed(float(n))
    assert circuit.is_open == (failures >= threshold)
