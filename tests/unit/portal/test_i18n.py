"""Every text the pages translate has its Thai and Vietnamese form."""

from __future__ import annotations

import re
from pathlib import Path

from connectors.portal.i18n import missing_translations, translator

TEMPLATES = Path(__file__).resolve().parents[3] / "connectors" / "portal" / "templates"


def test_every_translated_text_of_the_templates_exists_in_thai_and_vietnamese() -> None:
    texts: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text(encoding="utf-8")
        texts |= set(re.findall(r't\("([^"]+)"\)', source))
        texts |= set(re.findall(r"t\('([^']+)'\)", source))
        texts |= set(re.findall(r'\("[a-z_]+", "([^"]+)"\)', source))  # form field labels
    assert len(texts) > 50
    for lang in ("th", "vi"):
        t = translator(lang)
        assert sorted(text for text in texts if t(text) == text and text != "HS") == []
    assert missing_translations() == {"th": [], "vi": []}
    assert translator("en")("Applications") == "Applications"
