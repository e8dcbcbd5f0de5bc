"""The portal address printed and encoded as a QR code on the preview."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.certificate.render.verification_link import (
    DEFAULT_PORTAL_URL,
    qr_code_data_uri,
    verification_url,
)


def test_default_portal_address() -> None:
    assert (verification_url(DEFAULT_PORTAL_URL, "E263302000020001")
            == "https://127.0.0.1:8444/v1/certificates/E263302000020001")


def test_a_trailing_slash_of_the_portal_is_not_doubled() -> None:
    assert (verification_url("https://portal.example/base/", "R1")
            == "https://portal.example/base/v1/certificates/R1")


@pytest.mark.parametrize("portal", ["ftp://portal.example", "portal.example", "https://",
                                    "https://portal.example/?a=1", "javascript:alert(1)"])
def test_a_portal_that_is_not_a_plain_http_address_is_refused(portal: str) -> None:
    with pytest.raises(ValueError, match="portal URL"):
        verification_url(portal, "R1")


@given(st.from_regex(r"[A-Z0-9][A-Z0-9/\-]{0,34}", fullmatch=True))
def test_any_reference_number_is_one_path_segment_that_reads_back(number: str) -> None:
    url = verification_url("https://portal.example", number)
    path = urlsplit(url).path
    prefix = "/v1/certificates/"
    assert path.startswith(prefix)
    segment = path[len(prefix):]
    assert "/" not in segment
    assert unquote(segment) == number


def test_qr_code_is_a_self_contained_svg() -> None:
    uri = qr_code_data_uri("https://127.0.0.1:8444/v1/certificates/R1")
    assert uri.startswith("data:image/svg+xml")
    assert "%3Csvg" in uri or "<svg" in uri
    assert qr_code_data_uri("https://127.0.0.1:8444/v1/certificates/R2") != uri
