"""Fixtures of the certificate tests: a development PKI per algorithm, made once per session,
and the signed ACFTA sample."""

from __future__ import annotations

import pytest
from certificate_samples import ACFTA_SAMPLE, sign_sample

from pipeline.certificate.devpki import DevPki, generate_dev_pki


@pytest.fixture(scope="session")
def rsa_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return generate_dev_pki(tmp_path_factory.mktemp("pki-rsa"), algorithm="rsa")


@pytest.fixture(scope="session")
def ecdsa_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return generate_dev_pki(tmp_path_factory.mktemp("pki-ecdsa"), algorithm="ecdsa")


@pytest.fixture(scope="session")
def signed_acfta(rsa_pki: DevPki) -> bytes:
    return sign_sample(ACFTA_SAMPLE, rsa_pki)

