"""The labels and notes of the preview in each language, read from the JSON files of
``translations``. Only the labels are translated: the certificate's data stays as issued.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("en", "th", "vi")
REFERENCE_LANGUAGE = "en"
_TRANSLATIONS = "pipeline.certificate.render.translations"


@dataclass(frozen=True)
class Labels:
    """The labels of one language, looked up by path (``labels.text("header", "issued_in")``)."""

    lang: str
    tree: Mapping[str, Any]

    def text(self, *path: str) -> str:
        """The label at ``path``; a missing one is a bug of the translation files."""
        node: Any = self.tree
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                raise KeyError(f"{self.lang}: no label {'.'.join(path)}")
            node = node[key]
        if not isinstance(node, str):
            raise KeyError(f"{self.lang}: {'.'.join(path)} is not a single label")
        return node

    def entries(self, *path: str) -> tuple[tuple[str, str], ...]:
        """The (key, label) pairs under ``path`` in file order, such as the notes' criteria."""
        node: Any = self.tree
        for key in path:
            node = node[key]
        return tuple((key, str(value)) for key, value in node.items())


@cache
def labels_for(lang: str) -> Labels:
    """The labels of ``lang`` (one of LANGUAGES), checked against the English reference.

    Raises ValueError for an unknown language, or for a translation that misses a label or
    changes a placeholder such as ``{importing}``.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: one of {', '.join(LANGUAGES)}")
    labels = Labels(lang, _load(lang))
    if lang != REFERENCE_LANGUAGE:
        _check_against(labels, Labels(REFERENCE_LANGUAGE, _load(REFERENCE_LANGUAGE)))
    return labels


def _load(lang: str) -> Mapping[str, Any]:
    raw = resources.files(_TRANSLATIONS).joinpath(f"{lang}.json").read_text(encoding="utf-8")
    tree = json.loads(raw)
    if not isinstance(tree, dict):
        raise ValueError(f"translations/{lang}.json is not a JSON object")
    return tree


def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, node


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _check_against(labels: Labels, reference: Labels) -> None:
    """Every label of the reference exists, is text and keeps the reference's placeholders."""
    translated = dict(_leaves(labels.tree))
    for path, english in _leaves(reference.tree):
        where = f"translations/{labels.lang}.json: {'.'.join(path)}"
        if path not in translated:
            raise ValueError(f"{where} is missing")
        value = translated[path]
        if not isinstance(value, str):
            raise ValueError(f"{where} must be text")
        if isinstance(english, str) and english.strip() and not value.strip():
            raise ValueError(f"{where} is empty")
        if isinstance(english, str) and _placeholders(value) != _placeholders(english):
            raise ValueError(f"{where} must use the placeholders {sorted(_placeholders(english))}")
    extra = sorted(".".join(path) for path in set(translated) - set(dict(_leaves(reference.tree))))
    if extra:
        raise ValueError(f"translations/{labels.lang}.json: labels not in English: {extra}")
