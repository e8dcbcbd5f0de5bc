"""``eco trust`` and ``eco verify --with-updates`` without a broker: bad input is refused
locally with a message naming the file or option (exit 2) before anything is published, and
a missing broker is exit 3."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from certificate_samples import ACFTA_SAMPLE, sign_sample

from pipeline import events
from pipeline.certificate.devpki import DevPki
from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNREACHABLE, build_parser
from pipeline.cli import trust as trust_command
from pipeline.services import free_port


@pytest.fixture
def pki(rsa_pki: DevPki) -> DevPki:
    return rsa_pki


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A broker address where nothing listens: nothing can be published by accident; the
    development notice keys sign the notifications."""
    monkeypatch.setenv("ECO_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("ECO_DEV_PKI", "true")
    monkeypatch.setenv("ECO_DATA_DIR", str(tmp_path / "data"))


def _eco(*argv: str) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    code: int = args.run(args)
    return code


@pytest.mark.parametrize(("argv", "message"), [
    (["add", "{dir}/CN-SZX.pem"], "CN-SZX.pem: CN=CN-SZX,.* is not a CA certificate"),
    (["withdraw", "{dir}/CN-SZX.pem"], "CN-SZX.pem: .* is not a CA certificate"),
    (["add", "{dir}/absent.pem"], r"absent.pem: cannot read the file \(No such file"),
    (["add", "{keys}/ca.key"], "ca.key: not a PEM certificate file"),
    (["add", "{dir}/ca.pem", "--effective-at", "2026-05-20T08:00"],
     "--effective-at 2026-05-20T08:00: no time zone; add Z or an offset"),
    (["withdraw", "{dir}/ca.pem", "--effective-at", "tomorrow"],
     "--effective-at tomorrow: not an ISO 8601 date-time"),
    (["add", "{dir}/ca.pem", "--country", "TH"],
     "ca.pem: country 'TH' differs from the country 'CN' of the certificate's subject"),
    (["list", "--at", "2026-05-20"], "--at 2026-05-20: no time zone"),
    (["list", "--trust", "{dir}/absent"], "--trust .*absent: trust directory .* does not exist"),
])
def test_bad_input_exits_2_naming_what_and_where(
    pki: DevPki, capsys: pytest.CaptureFixture[str], argv: list[str], message: str,
) -> None:
    filled = [a.format(dir=pki.trust_dir, keys=pki.keys_dir) for a in argv]
    assert _eco("trust", *filled) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing published, nothing printed as done
    assert captured.err.startswith("eco trust: ")
    assert re.search(message, captured.err), captured.err


def test_a_file_with_two_certificates_is_refused(pki: DevPki, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    both = tmp_path / "both.pem"
    both.write_bytes(pki.ca_certificate_path.read_bytes() * 2)
    assert _eco("trust", "add", str(both)) == EXIT_BAD_INPUT
    assert "both.pem: holds 2 certificates; one is expected" in capsys.readouterr().err


def test_without_a_broker_a_valid_notification_and_the_list_exit_3(
    pki: DevPki, capsys: pytest.CaptureFixture[str],
) -> None:
    assert _eco("trust", "withdraw", str(pki.ca_certificate_path)) == EXIT_UNREACHABLE
    assert "does not answer" in capsys.readouterr().err
    assert _eco("trust", "list", "--trust", str(pki.trust_dir)) == EXIT_UNREACHABLE
    assert "does not answer" in capsys.readouterr().err


def test_verify_without_the_flag_needs_no_broker_and_with_it_exit_3(
    pki: DevPki, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    certificate = tmp_path / "certificate.xml"
    certificate.write_bytes(sign_sample(ACFTA_SAMPLE, pki))
    trust = tmp_path / "trust"
    shutil.copytree(pki.trust_dir, trust)
    assert _eco("verify", str(certificate), "--trust", str(trust)) == EXIT_OK
    assert "VALID" in capsys.readouterr().out
    assert _eco("verify", str(certificate), "--trust", str(trust),
                "--with-updates") == EXIT_UNREACHABLE
    assert "eco verify: --with-updates: Kafka broker" in capsys.readouterr().err


def test_the_notification_defaults_to_now_and_the_subject_country(pki: DevPki) -> None:
    pem = pki.ca_certificate_path.read_bytes()
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    notice = trust_command.notification("WITHDRAW", pem, reference="NV-7")
    after = datetime.now(UTC)
    assert notice.country == "CN" and notice.action == "WITHDRAW"
    assert before <= notice.update.effective_at <= after
    assert notice.update.effective_at.microsecond % 1000 == 0  # what Avro keeps
    assert notice.update.effective_at == notice.published_at
    envelope = trust_command.trust_event(notice)
    key, value, headers = events.to_record(envelope)
    assert key == b"CN" and envelope.id == notice.id
    assert events.from_record(key, value, headers).data["reference"] == "NV-7"
    at = datetime(2026, 6, 1, tzinfo=UTC)
    first = trust_command.notification("ADD", pem, effective_at=at, now=at)
    again = trust_command.notification("ADD", pem, effective_at=at, now=at + timedelta(hours=1))
    assert first.id == again.id  # the same notification published twice is applied once
