"""Certificate reference numbers, as China issues them (DOMAIN.md 1.6; Form E Rule 8(c)).

The issuing office gives the number; the number follows China's Form E numbering: ``E`` +
2-digit year + the **applicant's** 9-character origin registration number + 4-digit serial,
16 characters in all (for example ``E193800000050045``, the 45th Form E of 2019 for
registrant 380000005). China's RCEP numbering is not published; by project convention it
uses the same pattern with the prefix ``R``. Serials therefore run per applicant
registration, per agreement and per year (``sequence_key``), which also spreads the
issuance work over the partitions instead of one per office.

The formats are a setting (``ECO_REFERENCE_FORMATS``): templates such as
``E{yy}{registration:9}{serial:4}`` per agreement, so another issuing country's format
can be configured. A registrant that has used every serial of its year gets
``SerialsExhausted``, a business error that names it, and nobody else is held up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.errors import BusinessRejection

_TEMPLATE = re.compile(
    r"(?P<prefix>[A-Z]{1,4})\{yy\}\{registration:(?P<reg>[1-9][0-9]?)\}"
    r"\{serial:(?P<serial>[1-9])\}"
)


class SerialsExhausted(BusinessRejection):
    """A registrant has used every serial of its reference numbers for the year."""


@dataclass(frozen=True)
class ReferenceFormat:
    """How one office writes its reference numbers: prefix, year, registration, serial."""

    prefix: str
    registration_length: int = 9
    serial_digits: int = 4

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z]{1,4}", self.prefix):
            raise ValueError(f"reference prefix {self.prefix!r} must be 1-4 capital letters")
        if self.registration_length < 1 or self.serial_digits < 1:
            raise ValueError("registration length and serial digits must be positive")

    @classmethod
    def from_template(cls, template: str) -> ReferenceFormat:
        """A format from ``E{yy}{registration:9}{serial:4}``; ValueError says what is wrong."""
        match = _TEMPLATE.fullmatch(template.strip())
        if match is None:
            raise ValueError(
                f"reference format {template!r} is not PREFIX{{yy}}{{registration:N}}"
                "{serial:N} (for example E{yy}{registration:9}{serial:4})"
            )
        return cls(match["prefix"], int(match["reg"]), int(match["serial"]))

    @property
    def template(self) -> str:
        """The template this format is written as in ``ECO_REFERENCE_FORMATS``."""
        return (
            f"{self.prefix}{{yy}}{{registration:{self.registration_length}}}"
            f"{{serial:{self.serial_digits}}}"
        )

    @property
    def max_serial(self) -> int:
        return int(10**self.serial_digits) - 1

    @property
    def length(self) -> int:
        return len(self.prefix) + 2 + self.registration_length + self.serial_digits

    def format(self, office_registration: str, year: int, serial: int) -> str:
        """The reference number of the ``serial``-th certificate of ``year``; overflow raises."""
        return str(ReferenceNumber(self, office_registration, year, serial))

    def parse(self, text: str) -> ReferenceNumber:
        """Read a reference number written in this format; ValueError if it is not one."""
        pattern = (
            rf"{self.prefix}(?P<yy>[0-9]{{2}})(?P<reg>[0-9A-Z]{{{self.registration_length}}})"
            rf"(?P<serial>[0-9]{{{self.serial_digits}}})"
        )
        match = re.fullmatch(pattern, text)
        if match is None:
            raise ValueError(f"{text!r} is not a reference number of the form {self.prefix}YY…")
        return ReferenceNumber(
            self, match["reg"], 2000 + int(match["yy"]), int(match["serial"])
        )


@dataclass(frozen=True)
class ReferenceNumber:
    """One certificate's reference number; ``str()`` gives the printed form."""

    format: ReferenceFormat
    registration: str
    year: int
    serial: int

    def __post_init__(self) -> None:
        if not re.fullmatch(rf"[0-9A-Z]{{{self.format.registration_length}}}", self.registration):
            raise ValueError(
                f"registration {self.registration!r} must be "
                f"{self.format.registration_length} digits or capital letters"
            )
        if not 2000 <= self.year <= 2099:
            raise ValueError(f"year {self.year} is outside 2000-2099")
        if self.serial < 1:
            raise ValueError(f"serial {self.serial} must be 1 or more")
        if self.serial > self.format.max_serial:
            raise ValueError(
                f"serial {self.serial} overflows the {self.format.serial_digits}-digit serial of "
                f"{self.format.prefix}{self.year % 100:02d}{self.registration}"
            )

    def __str__(self) -> str:
        return (
            f"{self.format.prefix}{self.year % 100:02d}{self.registration}"
            f"{self.serial:0{self.format.serial_digits}d}"
        )


FORM_E = ReferenceFormat(prefix="E")
FORM_RCEP = ReferenceFormat(prefix="R")
DEFAULT_FORMATS: Mapping[str, ReferenceFormat] = {"ACFTA": FORM_E, "RCEP": FORM_RCEP}
DEFAULT_FORMATS_SPEC = ",".join(f"{a}={f.template}" for a, f in DEFAULT_FORMATS.items())


def parse_reference_formats(spec: str) -> dict[str, ReferenceFormat]:
    """``ACFTA=E{yy}{registration:9}{serial:4},RCEP=R{yy}...`` -> formats by agreement, on top
    of the defaults; ValueError names the bad part."""
    formats = dict(DEFAULT_FORMATS)
    for part in filter(None, (p.strip() for p in spec.split(","))):
        agreement, sep, template = part.partition("=")
        if not sep or not agreement.strip().isalpha():
            raise ValueError(f"{part!r} is not AGREEMENT=TEMPLATE")
        formats[agreement.strip().upper()] = ReferenceFormat.from_template(template)
    return formats


def format_reference_number(
    agreement: str,
    registration_number: str,
    year: int,
    serial: int,
    *,
    formats: Mapping[str, ReferenceFormat] = DEFAULT_FORMATS,
) -> str:
    """The reference number of the applicant's ``serial``-th certificate of ``year`` under
    ``agreement``. ``SerialsExhausted`` when the serial overflows its digits; ValueError on
    an unknown agreement or a malformed part."""
    try:
        reference_format = formats[agreement]
    except KeyError:
        raise ValueError(f"no reference number format for agreement {agreement!r}") from None
    if serial > reference_format.max_serial:
        raise SerialsExhausted(
            f"registrant {registration_number} has used all {reference_format.max_serial:,} "
            f"serials of {agreement} reference numbers for {year} "
            f"({reference_format.prefix}{year % 100:02d}{registration_number}"
            f"{'9' * reference_format.serial_digits} was the last); ask the issuing authority "
            "to extend the numbering"
        )
    return reference_format.format(registration_number, year, serial)


# The first pass's name, kept for its callers.
format_reference = format_reference_number


def sequence_key_for(agreement: str, registration_number: str) -> str:
    """``ACFTA:440300123``: the sequence a reference number comes from (a year's serials are
    kept under ``<key>:<year>``), and the key issuance requests are partitioned by."""
    return f"{agreement.upper()}:{registration_number}"


def registration_of(application: Any) -> str:
    """The applicant's registration number of an ``Application`` or its JSON document;
    ValueError when it has none."""
    if isinstance(application, Mapping):
        exporter = application.get("exporter")
        registration = (
            exporter.get("registration_number") if isinstance(exporter, Mapping) else None
        )
    else:
        registration = application.exporter.registration_number
    if not registration:
        raise ValueError("exporter.registration_number is required: the reference number "
                         "embeds the applicant's registration")
    return str(registration)


def sequence_key(application: Any) -> str:
    """The sequence key of an application: an ``Application`` or its JSON document."""
    if isinstance(application, Mapping):
        agreement = str(application.get("agreement") or "")
    else:
        agreement = str(application.agreement)
    if not agreement:
        raise ValueError("an application needs its agreement")
    return sequence_key_for(agreement, registration_of(application))


def sequence_year_key(key: str, year: int) -> str:
    """The table key of one sequence's serials in ``year``."""
    return f"{key}:{year}"


@dataclass(frozen=True)
class SerialAllocation:
    """The last serial an office allocated in a year, and what it was allocated for.

    Issuance records the allocation (and makes it durable) before it records the
    certificate, and the certificate before it publishes it. A crash in between leaves
    the allocation recorded but not the certificate: the replayed request, for the same
    holder (the application id, or an officer's request id), gets the same serial again
    instead of the next one. Should that request fail for good when replayed (say the
    office's authority was withdrawn meanwhile), the next holder takes the serial its
    certificate never used. So no serial is skipped, and none is used twice.
    """

    serial: int = 0
    holder: str = ""
    application_id: str = ""

    def __post_init__(self) -> None:
        if self.serial < 0:
            raise ValueError(f"serial {self.serial} must not be negative")

    def next_for(self, holder: str, application_id: str, *, recorded: bool) -> SerialAllocation:
        """The serial for ``holder``; ``recorded`` says whether this allocation's
        certificate was recorded (a first allocation counts as recorded)."""
        if not holder or not application_id:
            raise ValueError("an allocation needs its holder and application id")
        if holder == self.holder:
            return self
        serial = self.serial if self.serial and not recorded else self.serial + 1
        return SerialAllocation(serial, holder, application_id)

    @classmethod
    def from_json(cls, stored: object) -> SerialAllocation:
        """Read a stored allocation; a bare integer is a count without its holder."""
        if isinstance(stored, Mapping):
            return cls(int(stored.get("serial", 0)), str(stored.get("holder", "")),
                       str(stored.get("application_id", "")))
        if isinstance(stored, int) and not isinstance(stored, bool):
            return cls(stored)
        raise ValueError(f"not a serial allocation: {stored!r}")

    def to_json(self) -> dict[str, object]:
        return {"serial": self.serial, "holder": self.holder,
                "application_id": self.application_id}
