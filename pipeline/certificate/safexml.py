"""The one hardened XML parser of the project: every XML that comes from outside goes through it.

It refuses what the classic attacks need: a document type declaration (so no entity expansion,
no external entities, no DTD retrieval), XInclude elements, network access, oversize input and
trees deeper than libxml2's safe limit.
"""

from __future__ import annotations

from lxml import etree

from pipeline.errors import InvalidInput, Problem, UnsafeXml

MAX_BYTES = 5 * 1024 * 1024
XINCLUDE_NAMESPACES = frozenset(
    {"http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude"}
)


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers keep per-document state and are not shared safely.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_xml(data: bytes, *, max_bytes: int = MAX_BYTES, source: str = "") -> etree._Element:
    """Parse ``data`` as untrusted XML and return its root element.

    Raises UnsafeXml (with the reason) for oversize input, a DTD, entity references, XInclude or a
    tree too deep; InvalidInput for bytes that are not well-formed XML.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_xml takes bytes")
    if len(data) > max_bytes:
        raise UnsafeXml(
            f"{_where(source)}XML of {len(data)} bytes exceeds the limit of {max_bytes}"
        )
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc)
        if "depth" in message.lower() or "huge" in message.lower():
            raise UnsafeXml(f"{_where(source)}XML tree too deep or too large: {message}") from exc
        raise InvalidInput([Problem(f"line {exc.lineno}", f"not well-formed XML: {message}")],
                           source) from exc
    if root is None:
        raise InvalidInput([Problem("", "empty XML document")], source)
    _refuse_unsafe_constructs(root, source)
    return root


def _refuse_unsafe_constructs(root: etree._Element, source: str) -> None:
    """Refuse a parsed tree that declares a DTD or carries entity references or XInclude."""
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise UnsafeXml(f"{_where(source)}a document type declaration (DTD) is not allowed")
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise UnsafeXml(f"{_where(source)}entity reference &{node.name}; is not allowed")
        if isinstance(node.tag, str) and etree.QName(node).namespace in XINCLUDE_NAMESPACES:
            raise UnsafeXml(f"{_where(source)}XInclude is not allowed")


def _where(source: str) -> str:
    return f"{source}: " if source else ""
