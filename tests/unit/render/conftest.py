"""Fixtures of the preview tests: a development PKI and the two sample certificates, signed,
also written to files for the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from render_samples import build_signed

from pipeline.certificate.devpki import DevPki, generate_dev_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return generate_dev_pki(tmp_path_factory.mktemp("render-pki"), algorithm="ecdsa")


@pytest.fixture(scope="session")
def certificates(pki: DevPki) -> dict[str, bytes]:
    """The signed sample certificate of each agreement."""
    return {agreement: build_signed(agreement, pki) for agreement in ("RCEP", "ACFTA")}


@pytest.fixture(scope="session")
def certificate_files(certificates: dict[str, bytes],
                      tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("render-certificates")
    files = {}
    for agreement, xml in certificates.items():
        files[agreement] = folder / f"{agreement.lower()}.xml"
        files[agreement].write_bytes(xml)
    return files
