"""Signed customs responses: detached ES256 JWS over the body, checked by the receiver."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.customs.receiver import response_routes
from connectors.customs.signatures import (
    SIGNATURE_HEADER,
    generate_customs_keys,
    load_private_key,
    load_public_key,
    sign_response,
    signed_by_customs,
    verify_response,
)
from pipeline.errors import SignatureInvalid

GIVEN = {"response_id": "VN-1", "application_id": "A-1", "certificate_number": "E26",
         "version": 1, "status": "PREFERENCE_GIVEN", "responded_at": "2026-05-20T10:00:00Z"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_customs_keys(tmp_path_factory.mktemp("customs"), ["VN", "TH"])


KEY = ec.generate_private_key(ec.SECP256R1())


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=512), st.binary(min_size=1, max_size=8))
def test_a_signature_verifies_over_exactly_its_body(body: bytes, extra: bytes) -> None:
    signature = sign_response(body, KEY, "VN")
    verify_response(body, signature, KEY.public_key(), "VN")
    with pytest.raises(SignatureInvalid):
        verify_response(body + extra, signature, KEY.public_key(), "VN")


@pytest.mark.parametrize("signature", ["", "abc", "a.b.c", "e30..AAAA", "a..b"])
def test_malformed_signatures_are_refused(signature: str, keys: tuple[Path, Path]) -> None:
    with pytest.raises(SignatureInvalid):
        verify_response(b"{}", signature, load_public_key(keys[1], "VN"), "VN")


def test_another_countrys_key_or_kid_is_refused(keys: tuple[Path, Path]) -> None:
    keys_dir, trust_dir = keys
    as_th = sign_response(b"{}", load_private_key(keys_dir, "TH"), "TH")
    with pytest.raises(SignatureInvalid, match="not by VN"):
        verify_response(b"{}", as_th, load_public_key(trust_dir, "VN"), "VN")
    th_key_vn_kid = sign_response(b"{}", load_private_key(keys_dir, "TH"), "VN")
    with pytest.raises(SignatureInvalid, match="not what VN customs signed"):
        verify_response(b"{}", th_key_vn_kid, load_public_key(trust_dir, "VN"), "VN")
    with pytest.raises(SignatureInvalid, match="no usable key"):
        load_public_key(trust_dir, "MY")


def test_generating_again_keeps_the_keys(keys: tuple[Path, Path]) -> None:
    before = (keys[0] / "VN.key").read_bytes()
    generate_customs_keys(keys[0].parent, ["VN"])
    assert (keys[0] / "VN.key").read_bytes() == before
    assert (keys[0] / "VN.key").stat().st_mode & 0o077 == 0


def test_the_receiver_records_signed_responses_only(keys: tuple[Path, Path],
                                                   sink_factory: Any) -> None:
    keys_dir, trust_dir = keys
    sink = sink_factory()
    body = json.dumps(GIVEN).encode()
    good = sign_response(body, load_private_key(keys_dir, "VN"), "VN")

    async def run() -> list[tuple[int, str]]:
        app = web.Application()
        app.add_routes(response_routes(sink, authenticate=signed_by_customs(trust_dir)))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        results = []
        try:
            async with aiohttp.ClientSession() as session:
                for headers, payload in (({}, body), ({SIGNATURE_HEADER: good}, body + b" "),
                                         ({SIGNATURE_HEADER: good}, body)):
                    async with session.post(
                        f"http://127.0.0.1:{port}/v1/customs/VN/responses", data=payload,
                        headers={"Content-Type": "application/json", **headers}) as resp:
                        results.append((resp.status, resp.content_type))
        finally:
            await runner.cleanup()
        return results

    assert asyncio.run(run()) == [(401, "application/problem+json"),
                                  (401, "application/problem+json"),
                                  (202, "application/json")]
    assert [r.response_id for r in sink.responses] == ["VN-1"]
