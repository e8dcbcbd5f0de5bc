"""Issuing one certificate: the office, its reference number, the document and its signature,
and the document store. The pure pieces live in ``pipeline.certificate``; this module puts
them together with the configured keys and files.

Keys (``pipeline.certificate.officekeys``): each issuing office's key and X.509 certificate
are read from ``ECO_OFFICE_KEYS_DIR`` (``<OFFICE>.key``, ``<OFFICE>.pem``) or from its PKCS#11
token, and checked against the trust anchors of ``ECO_TRUST_DIR`` before the first
certificate; they are never written. Only with ``ECO_DEV_PKI=true`` (the demo and the tests)
is a development PKI generated, under ``ECO_DATA_DIR/pki``.
"""

from __future__ import annotations

import fcntl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography import x509

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
from pipeline.certificate.officekeys import OfficeKeys
from pipeline.certificate.signing import Signer, sign_certificate
from pipeline.errors import InvalidApplication, Problem
from pipeline.offices import Office, load_offices
from pipeline.settings import Settings
from pipeline.stages import Document


def trust_directory(settings: Settings) -> Path:
    """The trust registry's files: the issuing authority's CA certificate next to the offices'
    certificates (``ECO_TRUST_DIR``, default ``ECO_DATA_DIR/pki/trust``)."""
    return settings.trust


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

    def __init__(self, offices: Mapping[str, Office], keys: OfficeKeys, store_dir: Path, *,
                 dev_pki_dir: Path | None = None,
                 formats: Mapping[str, ReferenceFormat] = DEFAULT_FORMATS) -> None:
        self.offices = offices
        self.keys = keys
        self.store_dir = store_dir
        self.dev_pki_dir = dev_pki_dir  # only with ECO_DEV_PKI=true
        self.formats = formats
        self._keys: dict[str, Signer] = {}
        self._signers: dict[str, x509.Certificate] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> CertificateFactory:
        return cls(load_offices(settings.offices_file), OfficeKeys.from_settings(settings),
                   settings.data_dir / "documents",
                   dev_pki_dir=settings.data_dir / "pki" if settings.dev_pki else None,
                   formats=parse_reference_formats(settings.reference_formats))

    @classmethod
    def development(cls, offices: Mapping[str, Office], pki_dir: Path, store_dir: Path
                    ) -> CertificateFactory:
        """A factory on the development PKI under ``pki_dir`` (made if missing): tests only."""
        keys = OfficeKeys(pki_dir / "keys", pki_dir / "trust")
        factory = cls(offices, keys, store_dir, dev_pki_dir=pki_dir)
        factory.prepare_keys()
        return factory

    def office(self, code: str) -> Office:
        try:
            return self.offices[code]
        except KeyError:
            raise InvalidApplication(
                [Problem("issuing_office", f"unknown issuing office {code!r}; known: "
                         + ", ".join(sorted(self.offices)))]) from None

    def signing_key(self, office: Office) -> Signer:
        if office.code not in self._keys:
            self._keys[office.code] = self.keys.load(office.code)
        return self._keys[office.code]

    def signer_certificate(self, office: Office) -> x509.Certificate:
        """The X.509 certificate of the office's key (parsed once)."""
        if office.code not in self._signers:
            self._signers[office.code] = x509.load_pem_x509_certificate(
                self.signing_key(office).cert_pem)
        return self._signers[office.code]

    def prepare_keys(self) -> None:
        """Before the first certificate: the development PKI when asked for, then every
        office's key, checked (ConfigurationError naming every problem at once)."""
        if self.dev_pki_dir is not None:
            self.ensure_dev_pki(self.dev_pki_dir)
        self._keys.update(self.keys.load_all(self.offices))

    def ensure_dev_pki(self, pki_dir: Path) -> None:
        """Generate the development PKI (``ECO_DEV_PKI=true`` only). Several workers may
        start at once on one machine: an exclusive lock lets one of them write the files and
        the others reuse them."""
        pki_dir.mkdir(parents=True, exist_ok=True)
        with (pki_dir / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                generate_dev_pki(pki_dir, [_issuing(o) for o in self.offices.values()])
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
