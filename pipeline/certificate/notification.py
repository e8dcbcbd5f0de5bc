"""Notifications of issuing authorities (Form E Rule 3; RCEP Article 3.16) as events.

Each Party notifies the others of its issuing authorities and promptly of any change. A
notification travels as ``eco.trust.updated.v1`` on ``eco.trust``, keyed by the authority's
country: an authority's CA certificate added (put in force) or withdrawn from an instant.
This module reads and checks such an event (:meth:`TrustNotification.from_event`), keeps it as
plain JSON (:meth:`~TrustNotification.to_json`), and replays notifications in order on top of
a registry (:func:`replay`), the way every worker and ``eco verify --with-updates`` do.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from pipeline.certificate.trust import IssuingAuthority, TrustRegistry, TrustUpdate, is_ca
from pipeline.errors import InvalidInput, Problem

TRUST_UPDATED = "eco.trust.updated.v1"
TRUST_TOPIC = "eco.trust"
ACTIONS: dict[str, Literal["add", "withdraw"]] = {"ADD": "add", "WITHDRAW": "withdraw"}
_NAMESPACE = uuid.UUID("3b8f0c52-6d1e-4a7b-9c2f-8e5d4a1b7c60")


@dataclass(frozen=True)
class TrustNotification:
    """One notified change with what came with it: who notified it, its reference, and the
    event id that identifies it (a notification published twice is applied once)."""

    id: str
    country: str
    update: TrustUpdate
    published_at: datetime
    notified_by: str | None = None
    reference: str | None = None

    @property
    def action(self) -> str:
        """``ADD`` or ``WITHDRAW``, as the event says."""
        return self.update.action.upper()

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.update.certificate_pem)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the authority's certificate, hex: the registry entry it is about."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    @classmethod
    def from_event(cls, event_id: str, data: Mapping[str, Any]) -> TrustNotification:
        """The notification an ``eco.trust.updated.v1`` event carries, checked: a known action,
        a PEM certificate that is a CA whose subject's country is the event's country, and an
        ``effective_at`` with its time zone. InvalidInput lists every problem by field."""
        problems: list[Problem] = []
        country = str(data.get("country") or "")
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            problems.append(Problem("country", f"{country!r} is not an ISO 3166-1 alpha-2 code"))
        action = ACTIONS.get(str(data.get("action")))
        if action is None:
            problems.append(Problem("action", f"{data.get('action')!r} is not ADD or WITHDRAW"))
        pem = str(data.get("certificate_pem") or "").encode()
        problems += certificate_problems(pem, country, needs_name=action == "add")
        effective_at = data.get("effective_at")
        if not isinstance(effective_at, datetime) or effective_at.utcoffset() is None:
            problems.append(Problem("effective_at", "must be an instant with its time zone"))
        published_at = data.get("published_at")
        if not isinstance(published_at, datetime) or published_at.utcoffset() is None:
            problems.append(Problem("published_at", "must be an instant with its time zone"))
        if problems:
            raise InvalidInput(problems, source=f"trust notification {event_id}")
        assert action is not None  # checked above
        assert isinstance(effective_at, datetime) and isinstance(published_at, datetime)
        update = TrustUpdate(action, pem, effective_at, country=country,
                             name=_text(data.get("name")), address=_text(data.get("address")))
        return cls(id=event_id, country=country, update=update, published_at=published_at,
                   notified_by=_text(data.get("notified_by")),
                   reference=_text(data.get("reference")))

    def event_data(self) -> dict[str, Any]:
        """The ``eco.trust.updated.v1`` data of this notification."""
        return {
            "country": self.country,
            "action": self.action,
            "certificate_pem": self.update.certificate_pem.decode(),
            "effective_at": self.update.effective_at,
            "name": self.update.name,
            "address": self.update.address,
            "notified_by": self.notified_by,
            "reference": self.reference,
            "published_at": self.published_at,
        }

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (instants as ISO 8601 text), as the workers keep it in their table."""
        data = self.event_data()
        data["effective_at"] = self.update.effective_at.isoformat()
        data["published_at"] = self.published_at.isoformat()
        return {"id": self.id, **data}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> TrustNotification:
        """Back from :meth:`to_json`, checked again; InvalidInput if it is not one."""
        data = dict(value)
        for name in ("effective_at", "published_at"):
            try:
                data[name] = datetime.fromisoformat(str(data.get(name)))
            except ValueError:
                data[name] = None
        return cls.from_event(str(value.get("id") or ""), data)


def notification_id(data: Mapping[str, Any]) -> str:
    """An event id derived from what is notified (not from when it was published), so the
    same notification published twice is applied once."""
    content = {k: v for k, v in data.items() if k != "published_at"}
    return str(uuid.uuid5(_NAMESPACE, json.dumps(content, sort_keys=True, default=str)))


def certificate_problems(pem: bytes, country: str, *, needs_name: bool = True
                         ) -> list[Problem]:
    """What is wrong with ``pem`` as the certificate of an issuing authority of ``country``:
    not one PEM certificate, not a CA, another country in its subject, no name (for an ADD)."""
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        return [Problem("certificate_pem", f"not a PEM X.509 certificate ({exc})")]
    subject = certificate.subject.rfc4514_string()
    if not is_ca(certificate):
        return [Problem("certificate_pem", f"{subject} is not a CA certificate; an issuing "
                                           "authority's certificate must be one")]
    found = certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    subject_country = str(found[0].value) if found else ""
    problems = []
    if subject_country != country:
        problems.append(Problem("country", f"{country!r} differs from the country "
                                           f"{subject_country!r} of the certificate's subject "
                                           f"({subject})"))
    if needs_name:
        try:
            IssuingAuthority.from_certificate(certificate)
        except ValueError as exc:
            problems.append(Problem("certificate_pem", str(exc)))
    return problems


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Replayed:
    """A registry with notifications applied, and those that could not be: (id, reason)."""

    registry: TrustRegistry
    skipped: tuple[tuple[str, str], ...] = ()


def replay(registry: TrustRegistry, notifications: Iterable[TrustNotification]) -> Replayed:
    """Apply notifications in order; one already applied (same id) is skipped silently, one
    that does not apply (a withdrawal of an unknown certificate, say) is skipped with its
    reason. The trust stage refuses such notifications before it records them, so a skip only
    happens when a worker's trust files differ from those of the stage that accepted it."""
    applied: set[str] = set()
    skipped: list[tuple[str, str]] = []
    for notification in notifications:
        if notification.id in applied:
            continue
        try:
            registry = registry.apply_update(notification.update)
        except ValueError as exc:
            skipped.append((notification.id, str(exc)))
            continue
        applied.add(notification.id)
    return Replayed(registry, tuple(skipped))


def readable(items: Iterable[tuple[str, Mapping[str, Any]]]
             ) -> tuple[list[TrustNotification], list[tuple[str, str]]]:
    """The notifications among ``(event id, data)`` pairs read from ``eco.trust``, and the
    (id, reason) of those that are not valid (the trust stage dead-lettered them)."""
    found: list[TrustNotification] = []
    invalid: list[tuple[str, str]] = []
    for event_id, data in items:
        try:
            found.append(TrustNotification.from_event(event_id, data))
        except InvalidInput as exc:
            invalid.append((event_id, str(exc)))
    return found, invalid
