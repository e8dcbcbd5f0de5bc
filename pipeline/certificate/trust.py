"""The trust registry of issuing authorities (Form E Rule 3; RCEP Article 3.16 notifications).

Each Party notifies the names, addresses, specimen signatures and seals of its issuing
authorities, and any change. Here an authority's specimen signature is its X.509 CA certificate,
and its name and address come with it. The registry keeps history: an entry withdrawn or replaced
on a date stays, so a certificate issued before that date still verifies against the key that
was in force when it was issued.

The registry is an immutable value: ``add`` and ``apply_update`` return a new registry, so a
stage swaps in the updated one when an update event arrives, without a restart. One
certificate may have several entries, one per period it was in force: a withdrawal closes the
open entry and a later addition opens a new one, so no period is ever lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from pipeline.errors import SignatureInvalid


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode()


def is_ca(certificate: x509.Certificate) -> bool:
    """True for a CA certificate (basic constraints CA), the only kind an authority may have."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


@dataclass(frozen=True)
class IssuingAuthority:
    """One notified issuing authority: country, name, address and its CA certificate.

    ``in_force_from`` / ``in_force_until`` bound when the registry accepted this certificate
    (set by update events); the certificate's own validity always applies as well.
    """

    country: str
    name: str
    address: str
    certificate: x509.Certificate
    in_force_from: datetime | None = None
    in_force_until: datetime | None = None

    def __post_init__(self) -> None:
        if not is_ca(self.certificate):
            raise ValueError(f"{self.name}: the certificate of an issuing authority must be a CA")

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate) -> IssuingAuthority:
        """Read country (C), name (O, else CN) and address (street, locality) from the subject."""
        subject = certificate.subject
        country = _attribute(subject, NameOID.COUNTRY_NAME)
        name = _attribute(subject, NameOID.ORGANIZATION_NAME) or _attribute(
            subject, NameOID.COMMON_NAME
        )
        if country is None or name is None:
            raise ValueError(f"{subject.rfc4514_string()}: an authority needs C and O (or CN)")
        address = ", ".join(
            part
            for part in (
                _attribute(subject, NameOID.STREET_ADDRESS),
                _attribute(subject, NameOID.LOCALITY_NAME),
            )
            if part
        )
        return cls(country=country, name=name, address=address, certificate=certificate)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate, in hex: the identity of a registry entry."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def in_force_at(self, at: datetime) -> bool:
        """True when both the registry entry and the CA certificate were in force at ``at``."""
        if not self.certificate.not_valid_before_utc <= at <= self.certificate.not_valid_after_utc:
            return False
        if self.in_force_from is not None and at < self.in_force_from:
            return False
        return self.in_force_until is None or at < self.in_force_until


@dataclass(frozen=True)
class TrustUpdate:
    """A notified change (Form E Rule 3): an authority's certificate added, or withdrawn.

    A withdrawal takes effect at ``effective_at``; certificates signed before stay verifiable.
    Name, address and country default to the certificate's subject.
    """

    action: Literal["add", "withdraw"]
    certificate_pem: bytes
    effective_at: datetime
    country: str | None = None
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class TrustRegistry:
    """The issuing authorities whose certificates the pipeline accepts, per country."""

    authorities: tuple[IssuingAuthority, ...] = ()

    @classmethod
    def from_dir(cls, path: Path) -> TrustRegistry:
        """Load every CA certificate in the ``*.pem`` files of ``path``; others are skipped.

        Office (end-entity) certificates may sit in the same directory; they are not
        authorities. A file that is not PEM raises ValueError naming it.
        """
        if not path.is_dir():
            raise FileNotFoundError(f"trust directory {path} does not exist")
        registry = cls()
        for pem_file in sorted(path.glob("*.pem")):
            try:
                certificates = x509.load_pem_x509_certificates(pem_file.read_bytes())
            except ValueError as exc:
                raise ValueError(f"{pem_file}: not a PEM certificate file ({exc})") from exc
            for certificate in certificates:
                if is_ca(certificate):
                    registry = registry.add(IssuingAuthority.from_certificate(certificate))
        return registry

    def add(self, authority: IssuingAuthority) -> TrustRegistry:
        """A registry with ``authority`` added; the same certificate again replaces its entry."""
        kept = tuple(a for a in self.authorities if a.fingerprint != authority.fingerprint)
        return TrustRegistry((*kept, authority))

    def apply_update(self, update: TrustUpdate) -> TrustRegistry:
        """A registry with the notified change applied (Form E Rule 3), keeping every period.

        ADD of a certificate whose entry is in force updates that entry's country, name and
        address and keeps when it came into force; ADD of a certificate whose entries are all
        withdrawn (or that has none) opens a new entry from ``effective_at``. WITHDRAW closes
        the entry in force at ``effective_at``; withdrawing it again changes nothing. Raises
        ValueError naming the problem: no time zone, not a PEM certificate, a withdrawal of a
        certificate never registered or dated before its entry came into force.
        """
        if update.effective_at.tzinfo is None:
            raise ValueError("effective_at must carry its time zone")
        try:
            certificate = x509.load_pem_x509_certificate(update.certificate_pem)
        except ValueError as exc:
            raise ValueError(f"the notified certificate is not a PEM certificate ({exc})") from exc
        fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
        entries = [a for a in self.authorities if a.fingerprint == fingerprint]
        in_force = next((a for a in entries if a.in_force_until is None), None)
        if update.action == "add":
            if in_force is not None:
                return self._replace(in_force, replace(
                    in_force,
                    country=update.country or in_force.country,
                    name=update.name or in_force.name,
                    address=update.address or in_force.address,
                ))
            base = IssuingAuthority.from_certificate(certificate)
            return TrustRegistry((*self.authorities, replace(
                base,
                country=update.country or base.country,
                name=update.name or base.name,
                address=update.address or base.address,
                in_force_from=update.effective_at,
            )))
        if update.action != "withdraw":
            raise ValueError(f"unknown action {update.action!r}: add or withdraw")
        subject = certificate.subject.rfc4514_string()
        if in_force is None:
            if entries:
                return self  # already withdrawn: a repeated notification changes nothing
            raise ValueError(
                f"cannot withdraw {subject} (SHA-256 {fingerprint[:16]}...): it is not an "
                "issuing authority in the trust registry"
            )
        if in_force.in_force_from is not None and update.effective_at < in_force.in_force_from:
            raise ValueError(
                f"cannot withdraw {subject} from {update.effective_at.isoformat()}: its entry "
                f"is in force only from {in_force.in_force_from.isoformat()}"
            )
        return self._replace(in_force, replace(in_force, in_force_until=update.effective_at))

    def _replace(self, old: IssuingAuthority, new: IssuingAuthority) -> TrustRegistry:
        return TrustRegistry(tuple(new if a is old else a for a in self.authorities))

    def in_force_at(self, at: datetime) -> tuple[IssuingAuthority, ...]:
        """The entries in force at ``at`` (registry period and CA certificate validity)."""
        return tuple(a for a in self.authorities if a.in_force_at(at))

    def for_country(self, country: str) -> tuple[IssuingAuthority, ...]:
        """The authorities of one Party, oldest entry first."""
        return tuple(a for a in self.authorities if a.country == country)

    @property
    def countries(self) -> frozenset[str]:
        return frozenset(a.country for a in self.authorities)

    def authority_for(self, signer: x509.Certificate, at: datetime) -> IssuingAuthority:
        """The authority that issued ``signer``, both valid at ``at``; else SignatureInvalid.

        The signer's certificate must be issued directly by an authority's CA certificate, must
        not itself be a CA, and must allow digital signatures.
        """
        if at.tzinfo is None:
            raise ValueError("at must carry its time zone")
        subject = signer.subject.rfc4514_string()
        issuers = list(_issuers_of(signer, self.authorities))
        if not issuers:
            raise SignatureInvalid(
                f"the signer's certificate ({subject}) was issued by "
                f"{signer.issuer.rfc4514_string()}, which is not an issuing authority in the "
                "trust registry"
            )
        if is_ca(signer):
            raise SignatureInvalid(f"the signer's certificate ({subject}) is a CA certificate")
        if not _allows_signing(signer):
            raise SignatureInvalid(
                f"the signer's certificate ({subject}) does not allow digital signatures"
            )
        valid_from, valid_to = signer.not_valid_before_utc, signer.not_valid_after_utc
        if not valid_from <= at <= valid_to:
            raise SignatureInvalid(
                f"the signer's certificate ({subject}) was not valid on {at.isoformat()}: "
                f"valid from {valid_from.isoformat()} to {valid_to.isoformat()}"
            )
        for authority in issuers:
            if authority.in_force_at(at):
                return authority
        names = ", ".join(sorted({f"{a.name} ({a.country})" for a in issuers}))
        periods = "; ".join(_period(a) for a in issuers)
        raise SignatureInvalid(
            f"the issuing authority {names} was not in force on {at.isoformat()} "
            f"(in force: {periods})"
        )


def _issuers_of(
    signer: x509.Certificate, authorities: Iterable[IssuingAuthority]
) -> Iterable[IssuingAuthority]:
    for authority in authorities:
        if authority.certificate.subject != signer.issuer:
            continue
        try:
            signer.verify_directly_issued_by(authority.certificate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        yield authority


def _period(authority: IssuingAuthority) -> str:
    """When an entry is in force, in words: the registry period within the CA's validity."""
    start = authority.certificate.not_valid_before_utc
    end = authority.certificate.not_valid_after_utc
    if authority.in_force_from is not None:
        start = max(start, authority.in_force_from)
    if authority.in_force_until is not None:
        end = min(end, authority.in_force_until)
    return f"{start.isoformat()} to {end.isoformat()}"


def _allows_signing(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.digital_signature or usage.content_commitment
