"""The XML form of the application document (v1): read against the published XSD
(``schema/application-1.xsd``) into the same JSON-shaped document that ``parse_application``
takes, and written from one.

Elements carry the JSON field names; lists are wrapped (``<items><item>…``). Untrusted XML goes
through the project's hardened parser (``pipeline.certificate.safexml``): no DTD, no entities,
no XInclude, bounded size and depth.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

from lxml import etree

from pipeline.certificate.safexml import MAX_BYTES, parse_xml
from pipeline.errors import InvalidApplication, Problem

NAMESPACE = "urn:eco-pipeline:application:1"
SCHEMA_FILE = Path(__file__).with_name("schema") / "application-1.xsd"
MEDIA_TYPE = "application/xml"
# list field -> the element of one entry
LISTS = {"invoices": "invoice", "items": "item", "materials": "material",
         "processes": "process", "transit": "port_call", "original_items": "original_item"}
BOOLEANS = frozenset({"issued_retroactively", "wholly_obtained", "originating"})
INTEGERS = frozenset({"item_no", "count", "original_item_no"})
TEXTS = frozenset({"original_xml"})  # kept as written, even when it is blank or has markup
_Q = f"{{{NAMESPACE}}}"


def schema_bytes() -> bytes:
    """The XSD itself, as published."""
    return SCHEMA_FILE.read_bytes()


@cache
def application_schema() -> etree.XMLSchema:
    """The compiled XSD (the project's own file), loaded once."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.fromstring(schema_bytes(), parser))


def read_application_xml(data: bytes, *, source: str = "", max_bytes: int = MAX_BYTES
                         ) -> dict[str, Any]:
    """The application document in ``data``; raises UnsafeXml for hostile XML and
    InvalidApplication naming every place (as a JSON path) that breaks the XSD."""
    root = parse_xml(data, max_bytes=max_bytes, source=source)
    schema = application_schema()
    tree = root.getroottree()
    if not schema.validate(tree):
        errors = cast(Iterable[etree._LogEntry], schema.error_log)
        problems = [Problem(_where(tree, e.path), f"line {e.line}: {_message(e.message)}")
                    for e in errors]
        raise InvalidApplication(problems or [Problem("", "does not match the schema")], source)
    return cast(dict[str, Any], _value(root))


def _value(element: etree._Element) -> Any:
    name = etree.QName(element).localname
    if name in TEXTS:
        return element.text or ""
    children = [c for c in element if isinstance(c.tag, str)]
    if name in LISTS:
        return [_value(c) for c in children]
    if children:
        return {etree.QName(c).localname: _value(c) for c in children}
    text = (element.text or "").strip()
    if name in BOOLEANS:
        return text in ("true", "1")
    if name in INTEGERS:
        return int(text)
    return text


def _where(tree: etree._ElementTree, xpath: str) -> str:
    """The JSON path of the element at ``xpath`` (as lxml reports it): ``items[0].fob``."""
    try:
        found = tree.xpath(xpath) if xpath else []
    except etree.XPathError:
        return ""
    if not isinstance(found, list) or not found or not isinstance(found[0], etree._Element):
        return ""
    return json_path(found[0])


def json_path(element: etree._Element) -> str:
    """The JSON path of ``element`` in its document: ``items[1].materials[0].value``."""
    path = ""
    chain = [element, *element.iterancestors()][::-1][1:]
    for node in chain:
        parent = node.getparent()
        name = etree.QName(node).localname
        if parent is not None and etree.QName(parent).localname in LISTS:
            path += f"[{list(parent).index(node)}]"
        else:
            path += f".{name}" if path else name
    return path


def _message(text: str) -> str:
    return re.sub(r"\{urn:eco-pipeline:application:1\}", "", text)


def application_to_xml(document: Mapping[str, Any]) -> bytes:
    """The XML form of a JSON application document (fields in the schema's order)."""
    root = etree.Element(f"{_Q}application", nsmap={None: NAMESPACE})  # type: ignore[dict-item]
    _fill(root, document, _order("ApplicationType"))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _fill(parent: etree._Element, value: Any, order: list[str] | None = None) -> None:
    if isinstance(value, Mapping):
        keys = [k for k in (order or []) if k in value] + [k for k in value
                                                             if k not in (order or [])]
        for key in keys:
            if value[key] is None:
                continue
            child = etree.SubElement(parent, f"{_Q}{key}")
            _fill(child, value[key], _order(_TYPE_OF.get(key, "")))
    elif isinstance(value, list):
        entry = LISTS.get(etree.QName(parent).localname, "entry")
        for element in value:
            child = etree.SubElement(parent, f"{_Q}{entry}")
            _fill(child, element, _order(_TYPE_OF.get(entry, "")))
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    else:
        parent.text = str(value)


_TYPE_OF = {"item": "ItemType", "transport": "TransportType"}


@cache
def _order_of_all() -> dict[str, list[str]]:
    xs = "{http://www.w3.org/2001/XMLSchema}"
    tree = etree.fromstring(schema_bytes(), etree.XMLParser(resolve_entities=False,
                                                             no_network=True))
    orders: dict[str, list[str]] = {}
    for complex_type in tree.iter(f"{xs}complexType"):
        name = complex_type.get("name")
        sequence = complex_type.find(f"{xs}sequence")
        if name and sequence is not None:
            orders[name] = [str(e.get("name")) for e in sequence.findall(f"{xs}element")]
    return orders


def _order(type_name: str) -> list[str]:
    return _order_of_all().get(type_name, [])
