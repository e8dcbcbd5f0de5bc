"""The sandbox customs parses deliveries with the project's hardened parser, so it refuses
what that parser refuses (XInclude, external DTDs, deep trees), not only what it used to."""

from __future__ import annotations

import pytest

from connectors.customs.sandbox import parse_certificate_xml


@pytest.mark.parametrize(("document", "reason"), [
    (b'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd"/></r>',
     "XInclude is not allowed"),
    (b'<!DOCTYPE r PUBLIC "-//x//y" "file:///etc/passwd"><r/>', "document type"),
    (b"<a>" * 300 + b"</a>" * 300, "too deep"),
])
def test_what_the_project_parser_refuses_the_sandbox_refuses(document: bytes,
                                                              reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_certificate_xml(document)
