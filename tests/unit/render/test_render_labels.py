"""The label files: complete in every language, placeholders kept, really translated."""

from __future__ import annotations

import copy
import re

import pytest

from pipeline.certificate.document import BOXES
from pipeline.certificate.render.labels import LANGUAGES, Labels, _check_against, labels_for

THAI = re.compile(r"[\u0e00-\u0e7f]")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_a_title_for_every_box_of_both_forms(lang: str) -> None:
    labels = labels_for(lang)
    for agreement, boxes in BOXES.items():
        for element in boxes:
            assert labels.text("boxes", agreement, element, "title").strip()


def test_thai_and_vietnamese_titles_are_translated() -> None:
    english, thai, vietnamese = (labels_for(lang) for lang in ("en", "th", "vi"))
    for agreement, boxes in BOXES.items():
        for element in boxes:
            path = ("boxes", agreement, element, "title")
            assert THAI.search(thai.text(*path)), path
            assert vietnamese.text(*path) != english.text(*path), path


@pytest.mark.parametrize("lang", LANGUAGES)
def test_declarations_keep_their_placeholders(lang: str) -> None:
    labels = labels_for(lang)
    assert "{production}" in labels.text("declaration", "ACFTA")
    assert "{importing}" in labels.text("declaration", "ACFTA")
    assert "{importing}" in labels.text("declaration", "RCEP")


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        labels_for("fr")


def test_a_missing_label_is_reported_with_its_path() -> None:
    english = labels_for("en")
    tree = copy.deepcopy(dict(english.tree))
    del tree["boxes"]["RCEP"]["Remarks"]
    with pytest.raises(ValueError, match=r"boxes\.RCEP\.Remarks\.title is missing"):
        _check_against(Labels("xx", tree), english)


def test_a_changed_placeholder_is_reported() -> None:
    english = labels_for("en")
    tree = copy.deepcopy(dict(english.tree))
    tree["declaration"]["RCEP"] = "exported to {importer}"
    with pytest.raises(ValueError, match=r"declaration\.RCEP must use the placeholders"):
        _check_against(Labels("xx", tree), english)


def test_an_empty_translation_is_reported() -> None:
    english = labels_for("en")
    tree = copy.deepcopy(dict(english.tree))
    tree["header"]["issued_in"] = " "
    with pytest.raises(ValueError, match=r"header\.issued_in is empty"):
        _check_against(Labels("xx", tree), english)


def test_a_missing_label_lookup_names_the_path() -> None:
    with pytest.raises(KeyError, match=r"no label boxes\.RCEP\.Nothing"):
        labels_for("en").text("boxes", "RCEP", "Nothing", "title")
