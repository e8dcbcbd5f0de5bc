"""The PDF preview, checked as a person would: printed to an image at 300 dpi, read back with
OCR (tesseract, with the Thai and Vietnamese models) and its QR code scanned (zbarimg).

"Nothing missing" means every box label of the form is read back from the image. The labels of
the goods table wrap inside narrow columns, so those header cells are cut out (their positions
come from the page's anchors) and read one column at a time.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import weasyprint
from PIL import Image

from pipeline.certificate.document import BOXES
from pipeline.certificate.render import LANGUAGES, labels_for, preview_html, render_pdf
from pipeline.certificate.render.html_form import ITEM_COLUMNS

PORTAL = "https://127.0.0.1:8444"
DPI = 300
CSS_PX_PER_INCH = 96
A4_CONTENT_RIGHT_MM = 210 - 9
OCR_MODELS = {"en": "eng", "th": "tha+eng", "vi": "vie+eng"}
TOOLS = ("pdftoppm", "pdfinfo", "pdffonts", "tesseract", "zbarimg")
COMBINATIONS = [(agreement, lang) for agreement in ("RCEP", "ACFTA") for lang in LANGUAGES]


@dataclass(frozen=True)
class Printed:
    """One preview as printed: the PDF, its page image and what OCR read from it."""

    pdf: Path
    png: Path
    page_text: str
    header_text: str


def _normal(text: str) -> str:
    """Compare as OCR reads: compatibility forms (Thai SARA AM), no spaces, no case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def _similarity(wanted: str, text: str) -> float:
    """The best similarity of ``wanted`` with any stretch of ``text`` of the same length."""
    if wanted in text:
        return 1.0
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(wanted)
    best = 0.0
    for start in range(max(1, len(text) - len(wanted) + 1)):
        matcher.set_seq1(text[start:start + len(wanted)])
        if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
            best = max(best, matcher.ratio())
    return best


def _read(image: Path, lang: str) -> str:
    result = subprocess.run(
        ["tesseract", str(image), "-", "-l", OCR_MODELS[lang]],
        capture_output=True, text=True, check=True, timeout=120,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    return _normal(result.stdout)


def _header_cells(html: str, agreement: str, png: Path, out: Path) -> Path:
    """The header cells of the goods table, cut out and stacked one above the other."""
    anchors = weasyprint.HTML(string=html).render().pages[0].anchors
    scale = DPI / CSS_PX_PER_INCH
    ids = [f"box-{BOXES[agreement][column]}" for column in ITEM_COLUMNS[agreement]]
    lefts = [anchors[box_id][0] for box_id in ids]
    rights = [*lefts[1:], A4_CONTENT_RIGHT_MM / 25.4 * CSS_PX_PER_INCH]
    top, bottom = anchors[ids[0]][1], anchors["item-1"][1]
    page = Image.open(png)
    cells = [page.crop((round(left * scale) + 6, round(top * scale) + 6,
                        round(right * scale) - 6, round(bottom * scale) - 6))
             for left, right in zip(lefts, rights, strict=True)]
    gap = 60
    stacked = Image.new("RGB", (max(cell.width for cell in cells) + 2 * gap,
                                sum(cell.height + gap for cell in cells) + gap), "white")
    y = gap
    for cell in cells:
        stacked.paste(cell, (gap, y))
        y += cell.height + gap
    stacked.save(out)
    return out


def _print(agreement: str, lang: str, xml: bytes, folder: Path) -> Printed:
    html = preview_html(xml, lang, portal_url=PORTAL)
    pdf = folder / f"{agreement}-{lang}.pdf"
    pdf.write_bytes(render_pdf(html))
    stem = folder / f"{agreement}-{lang}"
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", str(pdf), str(stem)],
                   check=True, timeout=120)
    png = stem.with_suffix(".png")
    header = _header_cells(html, agreement, png, folder / f"{agreement}-{lang}-header.png")
    return Printed(pdf, png, _read(png, lang), _read(header, lang))


@pytest.fixture(scope="module")
def printed(certificates: dict[str, bytes],
            tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Printed]:
    missing = [tool for tool in TOOLS if _which(tool) is None]
    if missing:
        pytest.fail(f"the preview checks need {', '.join(missing)} (poppler-utils, "
                    "tesseract-ocr with -tha and -vie, zbar-tools)")
    folder = tmp_path_factory.mktemp("printed")
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {key: pool.submit(_print, *key, certificates[key[0]], folder)
                   for key in COMBINATIONS}
        return {key: future.result() for key, future in futures.items()}


def _which(tool: str) -> str | None:
    from shutil import which
    return which(tool)


def _tool(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True,
                          timeout=60).stdout


@pytest.mark.parametrize(("agreement", "lang"), COMBINATIONS)
def test_pdf_opens_as_one_a4_page(printed: dict[tuple[str, str], Printed],
                                  agreement: str, lang: str) -> None:
    pdf = printed[agreement, lang].pdf
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = _tool("pdfinfo", str(pdf))
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE)
    assert "(A4)" in info


@pytest.mark.parametrize(("agreement", "lang"), COMBINATIONS)
def test_fonts_for_the_script_are_embedded(printed: dict[tuple[str, str], Printed],
                                           agreement: str, lang: str) -> None:
    fonts = _tool("pdffonts", str(printed[agreement, lang].pdf)).splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts)  # every font embedded
    assert any("Noto-Sans-Thai" in line for line in fonts) == (lang == "th")


@pytest.mark.parametrize(("agreement", "lang"), COMBINATIONS)
def test_every_box_label_of_the_form_is_printed(printed: dict[tuple[str, str], Printed],
                                                agreement: str, lang: str) -> None:
    page = printed[agreement, lang]
    labels = labels_for(lang)
    wanted = [labels.text("boxes", agreement, element, "title")
              for element in BOXES[agreement]]
    wanted += [labels.text("header", key) for key in ("number", "issued_in", "verify")]
    wanted += [labels.text("notes", "title"), labels.text("forms", agreement, "name")]
    text = page.page_text + "|" + page.header_text
    scores = {label: _similarity(_normal(label), text) for label in wanted}
    missing = {label: round(score, 2) for label, score in scores.items() if score < 0.8}
    assert not missing, f"not read back from {page.png}: {missing}"


@pytest.mark.parametrize(("agreement", "lang"), COMBINATIONS)
def test_certificate_data_is_printed_as_issued(printed: dict[tuple[str, str], Printed],
                                               certificates: dict[str, bytes],
                                               agreement: str, lang: str) -> None:
    text = printed[agreement, lang].page_text
    number = {"RCEP": "R264403000010001", "ACFTA": "E263302000020001"}[agreement]
    assert _normal(number) in text
    issued = {"RCEP": ["Shenzhen Brightway Lighting Co., Ltd.", "LED ceiling luminaires",
                       "BW-2026-0501", "CTC"],
              "ACFTA": ["Ningbo Homestar Electric Appliance Co., Ltd.", "electric kettles",
                        "HS-TH-26-0077", "55%", "10000.00 USD"]}[agreement]
    for data in issued:
        assert _similarity(_normal(data), text) >= 0.85, data


@pytest.mark.parametrize(("agreement", "lang"), [("RCEP", "th"), ("ACFTA", "vi")])
def test_qr_code_scans_to_the_portal_address(printed: dict[tuple[str, str], Printed],
                                             agreement: str, lang: str) -> None:
    number = {"RCEP": "R264403000010001", "ACFTA": "E263302000020001"}[agreement]
    scanned = subprocess.run(["zbarimg", "--raw", "-q", str(printed[agreement, lang].png)],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    assert scanned == f"{PORTAL}/v1/certificates/{number}"


def test_outside_resources_are_refused() -> None:
    with pytest.raises(ValueError, match="outside resource"):
        render_pdf('<p>x</p><img src="file:///etc/hostname">')


@pytest.mark.parametrize(("lang", "absent"), [
    ("th", "ใบอนุญาตนำเข้าสินค้าเกษตร"),  # "agricultural import licence": not on the form
    ("vi", "Giấy phép nhập khẩu nông sản"),
    ("en", "Agricultural import licence"),
])
def test_the_check_finds_no_label_that_is_not_printed(printed: dict[tuple[str, str], Printed],
                                                      lang: str, absent: str) -> None:
    page = printed["RCEP", lang]
    assert _similarity(_normal(absent), page.page_text + "|" + page.header_text) < 0.8
