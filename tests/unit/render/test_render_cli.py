"""``eco render``: exit 0 written, 1 signature invalid (only with --trust), 2 bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.certificate.devpki import DevPki, generate_dev_pki
from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK, main


def test_html_in_thai_is_written(certificate_files: dict[str, Path], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECO_PORTAL_URL", raising=False)
    out = tmp_path / "preview.html"
    assert main(["render", str(certificate_files["RCEP"]), "--lang", "th",
                 "--format", "html", "-o", str(out)]) == EXIT_OK
    page = out.read_text(encoding="utf-8")
    assert 'lang="th"' in page and "สินค้าส่งจาก" in page and "R264403000010001" in page
    assert "https://127.0.0.1:8444/v1/certificates/R264403000010001" in page


def test_the_portal_address_comes_from_the_environment(
        certificate_files: dict[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECO_PORTAL_URL", "https://origin.example.cn/")
    out = tmp_path / "preview.html"
    assert main(["render", str(certificate_files["ACFTA"]), "-o", str(out)]) == EXIT_OK
    assert ("https://origin.example.cn/v1/certificates/E263302000020001"
            in out.read_text(encoding="utf-8"))


def test_pdf_format_follows_the_suffix_and_the_option(
        certificate_files: dict[str, Path], tmp_path: Path) -> None:
    by_suffix, by_option = tmp_path / "preview.pdf", tmp_path / "preview.out"
    assert main(["render", str(certificate_files["ACFTA"]), "--lang", "vi",
                 "-o", str(by_suffix)]) == EXIT_OK
    assert main(["render", str(certificate_files["ACFTA"]), "--format", "pdf",
                 "-o", str(by_option)]) == EXIT_OK
    assert by_suffix.read_bytes().startswith(b"%PDF-")
    assert by_option.read_bytes().startswith(b"%PDF-")


def test_a_certificate_that_verifies_is_rendered_with_trust(
        certificate_files: dict[str, Path], pki: DevPki, tmp_path: Path) -> None:
    out = tmp_path / "preview.html"
    assert main(["render", str(certificate_files["RCEP"]), "--trust", str(pki.trust_dir),
                 "-o", str(out)]) == EXIT_OK
    assert out.exists()


def test_a_tampered_certificate_is_refused_only_with_trust(
        certificate_files: dict[str, Path], pki: DevPki, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(certificate_files["RCEP"].read_bytes().replace(b"850.5", b"950.5"))
    out = tmp_path / "preview.html"
    assert main(["render", str(tampered), "--trust", str(pki.trust_dir),
                 "-o", str(out)]) == EXIT_NEGATIVE
    assert "does not match the document" in capsys.readouterr().err
    assert not out.exists()
    assert main(["render", str(tampered), "-o", str(out)]) == EXIT_OK
    assert "950.5 KGM" in out.read_text(encoding="utf-8")


def test_a_certificate_of_another_authority_is_refused_with_trust(
        certificate_files: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    other = generate_dev_pki(tmp_path / "other", algorithm="ecdsa")
    assert main(["render", str(certificate_files["ACFTA"]), "--trust", str(other.trust_dir),
                 "-o", str(tmp_path / "p.html")]) == EXIT_NEGATIVE
    assert "INVALID" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read the file"),
    (b"<html/>", "certificate"),
    (b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "not allowed"),
    (b"not xml", "not well-formed"),
])
def test_bad_input_exits_2_saying_what_and_where(
        tmp_path: Path, content: bytes | None, message: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "input.xml"
    if content is not None:
        source.write_bytes(content)
    assert main(["render", str(source), "-o", str(tmp_path / "p.html")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("eco render: ") and str(source) in err and message in err


def test_an_unusable_portal_address_or_trust_dir_exits_2(
        certificate_files: dict[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    source = str(certificate_files["RCEP"])
    assert main(["render", source, "--trust", str(tmp_path / "none"),
                 "-o", str(tmp_path / "p.html")]) == EXIT_BAD_INPUT
    assert "--trust" in capsys.readouterr().err
    monkeypatch.setenv("ECO_PORTAL_URL", "ftp://portal.example")
    assert main(["render", source, "-o", str(tmp_path / "p.html")]) == EXIT_BAD_INPUT
    assert "ECO_PORTAL_URL" in capsys.readouterr().err


def test_an_unwritable_output_exits_2(certificate_files: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "missing-folder" / "p.html"
    assert main(["render", str(certificate_files["RCEP"]), "-o", str(out)]) == EXIT_BAD_INPUT
    assert "cannot write" in capsys.readouterr().err


def test_unknown_language_is_a_usage_error(certificate_files: dict[str, Path],
                                           tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["render", str(certificate_files["RCEP"]), "--lang", "fr",
              "-o", str(tmp_path / "p.html")])
    assert exit_info.value.code == EXIT_BAD_INPUT
