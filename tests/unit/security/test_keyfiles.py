"""Private keys are readable by their owner only from their first byte."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from connectors.customs.signatures import generate_customs_keys
from connectors.customs.tls import generate_dev_tls
from pipeline.keyfiles import write_key_file


def test_a_private_file_is_created_with_mode_0600(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    modes: list[int] = []
    real_open = os.open

    def spying_open(path: str, flags: int, mode: int = 0o777, **kw: object) -> int:
        modes.append(mode)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", spying_open)
    os.umask(0o022)
    write_key_file(tmp_path / "office.key", b"secret", private=True)
    assert modes == [0o600]  # the mode the file is created with, before any byte is written
    assert stat.S_IMODE((tmp_path / "office.key").stat().st_mode) == 0o600
    assert (tmp_path / "office.key").read_bytes() == b"secret"
    assert [p.name for p in tmp_path.iterdir()] == ["office.key"]  # no temporary left


def test_every_development_private_key_is_owner_only(tmp_path: Path) -> None:
    generate_dev_tls(tmp_path / "tls")
    generate_customs_keys(tmp_path / "customs", ["VN"])
    keys = sorted(tmp_path.rglob("*.key"))
    assert len(keys) == 4
    assert {stat.S_IMODE(k.stat().st_mode) for k in keys} == {0o600}
    public = sorted(tmp_path.rglob("*.pem"))
    assert {stat.S_IMODE(p.stat().st_mode) for p in public} == {0o644}
