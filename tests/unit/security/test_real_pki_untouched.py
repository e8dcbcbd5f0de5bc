"""A deployment with real office keys and its CA certificate, but not the CA's private key (the
normal case): starting the issuance must leave every file as it is."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from pipeline.certificate.devpki import generate_dev_pki
from pipeline.issuing import CertificateFactory
from pipeline.offices import load_offices
from pipeline.settings import Settings


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def real_deployment(tmp_path: Path) -> Path:
    """An authority's files: office keys and certificates, the CA certificate, no CA key."""
    pki = generate_dev_pki(tmp_path / "made")
    data = tmp_path / "data"
    shutil.copytree(pki.root, data / "pki")
    (data / "pki" / "keys" / "ca.key").unlink()
    return data


@pytest.mark.xfail(strict=True, reason="issue 13: the worker writes a new CA over trust/ca.pem")
def test_starting_issuance_keeps_the_authority_files(tmp_path: Path) -> None:
    data = real_deployment(tmp_path)
    before = digests(data / "pki")
    factory = CertificateFactory.from_settings(Settings(data_dir=data))
    factory.ensure_dev_pki()  # what the issuance stage runs when it starts
    assert digests(data / "pki") == before
