"""The portal pages' own words in English, Thai and Vietnamese (``translations.json``, keyed
by the English text). The language comes from ``?lang=``, then the ``eco_lang`` cookie, then
the browser's Accept-Language; English otherwise. The certificate itself stays English (its
preview translates the form's labels)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

from fastapi import Request

LANGUAGES = ("en", "th", "vi")
COOKIE = "eco_lang"
NAMES = {"en": "English", "th": "ไทย", "vi": "Tiếng Việt"}


@cache
def _catalogue() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        Path(__file__).with_name("translations.json").read_text(encoding="utf-8"))
    return data


def translator(lang: str) -> Callable[[str], str]:
    """``t(english) -> the text in lang`` (English where no translation exists)."""
    words = _catalogue().get(lang, {})
    return lambda text: words.get(text, text)


def language_of(request: Request) -> str:
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(COOKIE, "")
    if kept in LANGUAGES:
        return kept
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def missing_translations() -> dict[str, list[str]]:
    """Per language, the English keys the other language lacks (kept empty by a test)."""
    catalogue = _catalogue()
    keys = set().union(*(set(words) for words in catalogue.values()))
    return {lang: sorted(keys - set(words)) for lang, words in catalogue.items()}
