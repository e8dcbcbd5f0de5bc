"""A deployment with real office keys and its CA certificate, but not the CA's private key (the
normal case): starting the issuance must leave every file as it is."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from pipeline.certificate.devpki import generate_dev_pki
from pipeline.errors import ConfigurationError
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


def test_starting_issuance_keeps_the_authority_files(tmp_path: Path) -> None:
    data = real_deployment(tmp_path)
    before = digests(data / "pki")
    factory = CertificateFactory.from_settings(Settings(data_dir=data))
    factory.prepare_keys()  # what the issuance stage runs when it starts
    assert digests(data / "pki") == before
    assert set(factory._keys) == set(load_offices())  # and every office can sign


def test_without_dev_pki_missing_keys_stop_start_up_naming_each_file(tmp_path: Path) -> None:
    data = real_deployment(tmp_path)
    (data / "pki" / "keys" / "CN-SZX.key").unlink()
    (data / "pki" / "trust" / "CN-NGB.pem").unlink()
    factory = CertificateFactory.from_settings(Settings(data_dir=data))
    with pytest.raises(ConfigurationError) as caught:
        factory.prepare_keys()
    problems = caught.value.problems
    assert len(problems) == 2
    assert any("office CN-SZX" in p and "CN-SZX.key is missing" in p for p in problems)
    assert any("office CN-NGB" in p and "CN-NGB.pem is missing" in p for p in problems)
    assert not (data / "pki" / "keys" / "CN-SZX.key").exists()  # nothing was generated


def test_a_key_that_is_not_its_certificates_stops_start_up(tmp_path: Path) -> None:
    data = real_deployment(tmp_path)
    keys = data / "pki" / "keys"
    (keys / "CN-SHA.key").write_bytes((keys / "CN-XMN.key").read_bytes())
    factory = CertificateFactory.from_settings(Settings(data_dir=data))
    with pytest.raises(ConfigurationError) as caught:
        factory.prepare_keys()
    [problem] = caught.value.problems
    assert "office CN-SHA" in problem
    assert "CN-SHA.key" in problem
    assert "does not match" in problem


def test_an_office_certificate_from_another_authority_stops_start_up(tmp_path: Path) -> None:
    data = real_deployment(tmp_path)
    stranger = generate_dev_pki(tmp_path / "stranger")
    for suffix, folder in ((".key", "keys"), (".pem", "trust")):
        shutil.copy(stranger.root / folder / f"CN-TSN{suffix}",
                    data / "pki" / folder / f"CN-TSN{suffix}")
    with pytest.raises(ConfigurationError, match=r"office CN-TSN: .*CN-TSN.pem was not issued"):
        CertificateFactory.from_settings(Settings(data_dir=data)).prepare_keys()


def test_a_key_readable_by_others_stops_start_up(tmp_path: Path) -> None:
    data = real_deployment(tmp_path)
    (data / "pki" / "keys" / "CN-GZH.key").chmod(0o644)
    with pytest.raises(ConfigurationError, match=r"office CN-GZH: .*readable by others"):
        CertificateFactory.from_settings(Settings(data_dir=data)).prepare_keys()


def test_dev_pki_only_when_asked_for(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        CertificateFactory.from_settings(Settings(data_dir=tmp_path)).prepare_keys()
    assert not (tmp_path / "pki" / "keys").exists()
    factory = CertificateFactory.from_settings(Settings(data_dir=tmp_path, dev_pki=True))
    factory.prepare_keys()
    assert (tmp_path / "pki" / "trust" / "ca.pem").is_file()


def test_keys_and_trust_come_from_their_own_directories(tmp_path: Path) -> None:
    data = real_deployment(tmp_path)
    keys, trust = tmp_path / "authority" / "keys", tmp_path / "authority" / "trust"
    shutil.move(data / "pki" / "keys", keys)
    shutil.move(data / "pki" / "trust", trust)
    for pem in trust.glob("CN-*.pem"):  # office certificates next to their keys
        shutil.move(pem, keys / pem.name)
    settings = Settings(data_dir=tmp_path / "empty", office_keys_dir=keys, trust_dir=trust)
    factory = CertificateFactory.from_settings(settings)
    factory.prepare_keys()
    assert len(factory._keys) == 6
    assert not (tmp_path / "empty").exists()
