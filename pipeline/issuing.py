"""Issuing one certificate: the office, its reference number, the document and its signature,
and the document store. The pure pieces live in ``pipeline.certificate``; this module puts
them together with the configured keys and files.

Keys: each issuing office's key and X.509 certificate are read from
``ECO_DATA_DIR/pki/keys/<office>.key`` and ``ECO_DATA_DIR/pki/trust/<office>.pem``. When
they are missing, a development PKI (an issuing CA and one certificate per office) is
generated there, so that ``make demo`` works on a fresh machine; a deployment puts its
real keys in that place instead.
"""

from __future__ import annotations

import fcntl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.certificate.devpki import generate_dev_pki
from pipeline.certificate.document import build_certificate, certified_true_copy
from pipeline.certificate.model import IssuingOffice, ItemCriterion
from pipeline.certificate.numbering import (
    DEFAULT_FORMATS,
    ReferenceFormat,
    format_reference_number,
    parse_reference_formats,
    registration_of,
)
from pipeline.certificate.signing import SigningKey, sign_certificate
from pipeline.errors import InvalidApplication, Problem
from pipeline.offices import Office, load_offices
from pipeline.settings import Settings
from pipeline.stages import Document


def trust_directory(settings: Settings) -> Path:
    """The trust registry's files: the issuing authority's CA certificate next to the offices'
    certificates (``ECO_DATA_DIR/pki/trust``), where the development PKI is written too."""
    return settings.data_dir / "pki" / "trust"


@dataclass(frozen=True)
class IssuedDocument:
    number: str
    version: int
    xml: bytes
    signed: bool


def criteria_of(items: Sequence[Mapping[str, Any]]) -> list[ItemCriterion]:
    """The criterion boxes of the verification results, as the certificate prints them."""
    result = []
    for item in items:
        criterion = str(item.get("criterion") or "")
        percent = item.get("rvc_percent")
        result.append(ItemCriterion(
            item_no=int(item["item_no"]),
            criterion=criterion,
            box=str(item.get("box") or criterion),
            fob_shown=criterion == "RVC",
            rvc_percent=Decimal(str(percent)) if percent is not None else None,
        ))
    return result


class CertificateFactory:
    """Numbers, builds, signs and stores certificates for the configured issuing offices."""

    def __init__(self, offices: Mapping[str, Office], pki_dir: Path, store_dir: Path,
                 formats: Mapping[str, ReferenceFormat] = DEFAULT_FORMATS) -> None:
        self.offices = offices
        self.pki_dir = pki_dir
        self.store_dir = store_dir
        self.formats = formats
        self._keys: dict[str, SigningKey] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> CertificateFactory:
        return cls(load_offices(), settings.data_dir / "pki", settings.data_dir / "documents",
                   parse_reference_formats(settings.reference_formats))

    def office(self, code: str) -> Office:
        try:
            return self.offices[code]
        except KeyError:
            raise InvalidApplication(
                [Problem("issuing_office", f"unknown issuing office {code!r}; known: "
                         + ", ".join(sorted(self.offices)))]) from None

    def signing_key(self, office: Office) -> SigningKey:
        if office.code not in self._keys:
            key_path = self.pki_dir / "keys" / f"{office.code}.key"
            cert_path = self.pki_dir / "trust" / f"{office.code}.pem"
            if not (key_path.exists() and cert_path.exists()):
                self.ensure_dev_pki()
            self._keys[office.code] = SigningKey.from_files(key_path, cert_path)
        return self._keys[office.code]

    def ensure_dev_pki(self) -> None:
        """Generate the development PKI where no keys are configured. Several workers may
        start at once on one machine: an exclusive lock lets one of them write the files and
        the others reuse them."""
        self.pki_dir.mkdir(parents=True, exist_ok=True)
        with (self.pki_dir / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                generate_dev_pki(self.pki_dir, [_issuing(o) for o in self.offices.values()])
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def issue(self, document: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *,
              office: Office, serial: int, version: int, issued_at: datetime,
              issued_retroactively: bool, supersedes: str | None = None) -> IssuedDocument:
        """Number, build (XSD-valid) and sign one certificate (Form E Rule 8(c)); a corrected
        version names the number it supersedes (Rule 10). The office gives the number, which
        carries the applicant's registration (China's Form E numbering); the office stays on
        the certificate."""
        agreement = str(document.get("agreement"))
        number = format_reference_number(agreement, applicant_registration(document),
                                         issued_at.year, serial, formats=self.formats)
        xml = build_certificate(
            document, criteria_of(items), number=number, version=version, issued_at=issued_at,
            issuing_office=_issuing(office), issued_retroactively=issued_retroactively,
            supersedes=supersedes,
        )
        signed = sign_certificate(xml, self.signing_key(office))
        return IssuedDocument(number=number, version=version, xml=signed, signed=True)

    def copy(self, original_xml: bytes, number: str, *, office: Office, version: int,
             issued_at: datetime) -> IssuedDocument:
        """A signed certified true copy of a lost certificate: same number, next version."""
        xml = certified_true_copy(original_xml, version=version, issued_at=issued_at)
        signed = sign_certificate(xml, self.signing_key(office))
        return IssuedDocument(number=number, version=version, xml=signed, signed=True)

    def store_all(self, documents: Sequence[Document]) -> None:
        """Keep the signed documents of a batch: ``<store>/<number>-v<version>.xml``, each
        written to a temporary file first and renamed, so a reader never sees half of one.
        Blocking: the stage frame calls it in an executor."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        for document in documents:
            target = self.store_dir / document.name
            partial = target.with_suffix(".partial")
            partial.write_bytes(document.content)
            partial.replace(target)

    def store(self, certificate: IssuedDocument) -> Path:
        """Keep the signed XML for download: ``<store>/<number>-v<version>.xml``."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        path = self.store_dir / f"{certificate.number}-v{certificate.version}.xml"
        path.write_bytes(certificate.xml)
        return path


def applicant_registration(document: Mapping[str, Any]) -> str:
    """The applicant's origin registration number, which the reference number embeds."""
    try:
        return registration_of(document)
    except ValueError as exc:
        raise InvalidApplication([Problem("exporter.registration_number", str(exc))]) from None


def _issuing(office: Office) -> IssuingOffice:
    return IssuingOffice(code=office.code, name=office.name, address=office.address,
                         country=office.country)
