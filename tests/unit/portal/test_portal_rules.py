"""Pure parts of the portal: who may do what, the limits, the Kafka-backed view and the
idempotent submission (with an in-memory publisher)."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connectors.portal.caller import Caller, NotAllowed, caller_from_claims
from connectors.portal.guards import RateLimiter, nesting_problems, parse_json_limited
from connectors.portal.problems import ApiProblem
from connectors.portal.state import Portal
from connectors.portal.submitting import application_id_for, submit
from connectors.portal.tokens import TokenVerifier
from connectors.portal.view import PortalView
from pipeline import events
from pipeline.settings import Settings
from pipeline.submission import submission

SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "01-rcep-led-luminaires-vn.json"
EXPORTER = "91440300MA5DLED01X"


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "u1", "eco_tenant": EXPORTER, "eco_roles": ["exporter"], **extra}


def test_roles_and_tenants_come_from_the_configured_claims() -> None:
    caller = caller_from_claims(claims(), "eco_tenant", "eco_roles")
    assert caller.may_submit_for(EXPORTER) and not caller.may_submit_for("other")
    assert caller.may_read(EXPORTER) and not caller.may_read("other")
    broker = caller_from_claims(claims(eco_tenant=["A", "B"], eco_roles=["representative"]),
                                "eco_tenant", "eco_roles")
    assert broker.may_submit_for("B") and not broker.may_submit_for(EXPORTER)
    operations = caller_from_claims(claims(eco_roles="operations", eco_tenant=None),
                                    "eco_tenant", "eco_roles")
    assert operations.may_read("anyone") and not operations.may_submit_for("anyone")
    with pytest.raises(NotAllowed, match="no role"):
        caller_from_claims(claims(eco_roles=["admin"]), "eco_tenant", "eco_roles")
    with pytest.raises(NotAllowed, match="no tenant"):
        caller_from_claims(claims(eco_tenant=""), "eco_tenant", "eco_roles")


def test_rate_limiter_refuses_past_the_budget_and_refills_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=3, clock=lambda: now[0])
    assert [limiter.allow("t")[0] for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("other")[0]  # buckets are per tenant
    allowed, wait = limiter.allow("t")
    assert not allowed and 0 < wait <= 20
    now[0] += 20.0
    assert limiter.allow("t")[0]


def test_nesting_is_bounded_before_and_after_decoding() -> None:
    with pytest.raises(ValueError, match="deeper than 4"):
        parse_json_limited(b'{"a": [[[[1]]]]}', 4)
    assert parse_json_limited(b'{"a": "[[[[[[", "b": [1]}', 4) == {"a": "[[[[[[", "b": [1]}
    assert nesting_problems({"a": [[{"b": []}]]}, 3)[0].path == "a[0][0]"


def _record(envelope: events.Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    return events.to_record(envelope)


def test_view_keeps_tenants_status_stream_and_cited_declarations() -> None:
    document = json.loads(SAMPLE.read_text())
    sub = submission(document, source="test", via="PORTAL")
    view = PortalView()
    key, value, headers = _record(sub.envelope)
    view.apply("eco.application", key, value, headers)
    assert view.tenant_of(sub.application_id) == EXPORTER
    status = {"application_id": sub.application_id, "state": "VERIFIED", "history": [
        {"event_id": "e1", "event_type": "x", "at": "2026-05-20T00:00:00", "state": "SUBMITTED"},
        {"event_id": "e2", "event_type": "y", "at": "2026-05-20T00:00:01", "state": "VERIFIED"}]}
    view.apply("eco.status", sub.application_id.encode(), json.dumps(status).encode(), [])
    view.apply("eco.status", sub.application_id.encode(), json.dumps(status).encode(), [])
    assert [e.id for e in view.stream] == ["e1", "e2"]  # a repeated record adds nothing
    mine = view.events_after("e1", lambda tenant: tenant == EXPORTER)
    assert [e.id for e in mine] == ["e2"]
    assert view.events_after(None, lambda tenant: tenant == "other") == []
    view.declarations["SD-MY-2026-0031"] = {"valid_until": "2026-03-31"}
    cited = {c["reference"]: c["state"]
             for c in view.cited_declarations(sub.application_id, date(2026, 5, 20))}
    assert cited == {"SD-MY-2026-0031": "expired", "SD-CN-2026-0410": "missing"}


def _portal(published: list[events.Envelope]) -> Portal:
    async def publish(envelopes: Any) -> None:
        published.extend(envelopes)

    settings = Settings(oidc_issuer="https://idp.test")
    return Portal(settings=settings, publish=publish,
                  verifier=TokenVerifier("https://idp.test", settings.api_audience))


def test_an_idempotency_key_gives_the_first_answer_and_refuses_other_content() -> None:
    published: list[events.Envelope] = []
    portal = _portal(published)
    caller = Caller("u1", "Li", (EXPORTER,), frozenset({"exporter"}))
    document = json.loads(SAMPLE.read_text())
    document.pop("application_id")

    async def scenario() -> None:
        first = await submit(portal, caller, document, document_format="JSON_V1",
                             idempotency_key="PO-1")
        again = await submit(portal, caller, document, document_format="JSON_V1",
                             idempotency_key="PO-1")
        assert first.application_id == again.application_id == application_id_for(EXPORTER,
                                                                                   "PO-1")
        assert again.replayed and not first.replayed
        with pytest.raises(ApiProblem) as conflict:
            await submit(portal, caller, {**document, "issuing_office": "CN-SHA"},
                         document_format="JSON_V1", idempotency_key="PO-1")
        assert conflict.value.status == 422
        with pytest.raises(ApiProblem) as foreign:
            await submit(portal, Caller("u2", "X", ("other",), frozenset({"exporter"})),
                         document, document_format="JSON_V1", idempotency_key="PO-2")
        assert foreign.value.status == 403

    asyncio.run(scenario())
    assert len(published) == 1
