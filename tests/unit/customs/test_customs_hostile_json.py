"""Hostile bodies at the customs receiver: a clear problem+json 400, never a crash."""

from __future__ import annotations

from typing import Any

from tests.unit.customs.test_customs_receiver import GIVEN, Serve, exchange


def test_a_body_nested_without_end_is_a_clear_400(serve: Serve, sink_factory: Any) -> None:
    sink = sink_factory()
    deep = b"[" * 100_000 + b"]" * 100_000  # within the size bound, beyond the parser's stack
    duplicate = b'{"status": "UTILISATION", "status": "REJECTION"}'
    answers = exchange(serve, sink, ("/v1/customs/vn/responses", deep),
                       ("/v1/customs/vn/responses", duplicate),
                       ("/v1/customs/vn/responses", GIVEN))
    (status, kind, body), (dup_status, _, dup_body), (good, _, _) = answers
    assert (status, kind) == (400, "application/problem+json")
    assert "nested deeper than the 32 levels" in str(body)
    assert dup_status == 400 and "duplicate key 'status'" in str(dup_body)
    assert good == 202  # the good message behind them still gets through
