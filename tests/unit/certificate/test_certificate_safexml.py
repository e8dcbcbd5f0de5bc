"""The hardened XML parser against the classic attacks: entity expansion, external entities,
DTD retrieval, XInclude, oversize and deep input. Nothing may be read or fetched."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from pipeline.certificate.safexml import MAX_BYTES, parse_xml
from pipeline.errors import InvalidInput, UnsafeXml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""


class _Recorder(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        body = b'<!ENTITY secret "fetched">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request it receives."""
    requests: list[str] = []
    handler = type("Recorder", (_Recorder,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_ordinary_xml_parses() -> None:
    root = parse_xml(b"<a xmlns='urn:x'><b>text &amp; more</b></a>")
    assert root[0].text == "text & more"


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(UnsafeXml, match="DTD"):
        parse_xml(BILLION_LAUGHS)


def test_external_file_entity_is_refused_and_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    attack = (
        f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]><r>&xxe;</r>'
    ).encode()
    with pytest.raises(UnsafeXml) as caught:
        parse_xml(attack)
    assert "TOP-SECRET" not in str(caught.value)


def test_external_http_entity_is_refused_and_not_fetched(
    http_server: tuple[str, list[str]],
) -> None:
    url, requests = http_server
    attack = f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{url}/entity">]><r>&xxe;</r>'.encode()
    with pytest.raises(UnsafeXml):
        parse_xml(attack)
    assert requests == []


def test_dtd_retrieval_is_refused_and_not_fetched(http_server: tuple[str, list[str]]) -> None:
    url, requests = http_server
    external = f'<!DOCTYPE r SYSTEM "{url}/evil.dtd"><r>&secret;</r>'.encode()
    parameter = f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]><r/>'.encode()
    for attack in (external, parameter):
        with pytest.raises(UnsafeXml, match="DTD"):
            parse_xml(attack)
    assert requests == []


def test_a_dtd_in_utf16_is_refused_too() -> None:
    attack = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'
    with pytest.raises(UnsafeXml, match="DTD"):
        parse_xml(attack.encode("utf-16"))


def test_xinclude_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    attack = (
        '<r xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<xi:include href="{secret.as_uri()}" parse="text"/></r>'
    ).encode()
    with pytest.raises(UnsafeXml, match="XInclude"):
        parse_xml(attack)


def test_oversize_input_is_refused_before_parsing() -> None:
    document = b"<r>" + b"x" * (1000 - 7) + b"</r>"
    assert len(document) == 1000
    assert parse_xml(document, max_bytes=1000).tag == "r"
    with pytest.raises(UnsafeXml, match="exceeds the limit of 999"):
        parse_xml(document, max_bytes=999)
    assert MAX_BYTES == 5 * 1024 * 1024


def test_a_deep_tree_is_refused() -> None:
    deep = b"<a>" * 5000 + b"</a>" * 5000
    with pytest.raises(UnsafeXml, match="too deep"):
        parse_xml(deep)


def test_malformed_xml_is_invalid_input_with_its_line() -> None:
    with pytest.raises(InvalidInput, match="line 2"):
        parse_xml(b"<r>\n<unclosed></r>", source="upload.xml")
