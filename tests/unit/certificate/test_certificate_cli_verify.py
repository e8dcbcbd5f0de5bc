"""``eco verify``: exit 0 valid, 1 invalid with the reason, 2 bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pipeline.certificate.devpki import DevPki
from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK
from pipeline.cli import verify as verify_command


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="eco")
    verify_command.register(parser.add_subparsers())
    args = parser.parse_args(["verify", *argv])
    code: int = args.run(args)
    return code


def test_a_valid_certificate_exits_0_and_says_who_signed(
    tmp_path: Path, signed_acfta: bytes, rsa_pki: DevPki, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "certificate.xml"
    path.write_bytes(signed_acfta)
    assert _run(str(path), "--trust", str(rsa_pki.trust_dir)) == EXIT_OK
    out = capsys.readouterr().out
    assert "VALID" in out and "E263302000020001 version 1" in out
    assert "CN-NGB" in out and "CN=CN-NGB" in out


def test_a_tampered_certificate_exits_1_with_the_reason(
    tmp_path: Path, signed_acfta: bytes, rsa_pki: DevPki, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "certificate.xml"
    path.write_bytes(signed_acfta.replace(b"SKT/BKK", b"SKT/BKX"))
    assert _run(str(path), "--trust", str(rsa_pki.trust_dir)) == EXIT_NEGATIVE
    assert "does not match the document" in capsys.readouterr().out


def test_an_untrusted_signer_exits_1(
    tmp_path: Path, signed_acfta: bytes, ecdsa_pki: DevPki, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "certificate.xml"
    path.write_bytes(signed_acfta)
    assert _run(str(path), "--trust", str(ecdsa_pki.trust_dir)) == EXIT_NEGATIVE
    assert "not an issuing authority" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the file"),
        (b"<Certificate>", "not well-formed"),
        (b"<!DOCTYPE r [<!ENTITY e 'x'>]><r>&e;</r>", "DTD"),
    ],
)
def test_bad_input_exits_2_saying_what_and_where(
    tmp_path: Path, rsa_pki: DevPki, capsys: pytest.CaptureFixture[str],
    content: bytes | None, message: str,
) -> None:
    path = tmp_path / "input.xml"
    if content is not None:
        path.write_bytes(content)
    assert _run(str(path), "--trust", str(rsa_pki.trust_dir)) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err and str(path) in err


def test_a_missing_or_empty_trust_directory_exits_2(
    tmp_path: Path, signed_acfta: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "certificate.xml"
    path.write_bytes(signed_acfta)
    assert _run(str(path), "--trust", str(tmp_path / "absent")) == EXIT_BAD_INPUT
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert _run(str(path), "--trust", str(tmp_path / "empty")) == EXIT_BAD_INPUT
    assert "no issuing authority" in capsys.readouterr().err


def test_default_trust_directory_is_the_demo_one() -> None:
    parser = argparse.ArgumentParser(prog="eco")
    verify_command.register(parser.add_subparsers())
    args = parser.parse_args(["verify", "x.xml"])
    assert args.trust == Path(".eco/demo/trust")
