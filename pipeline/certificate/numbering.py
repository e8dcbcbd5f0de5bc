"""Certificate reference numbers: unique per office of issuance (Form E Rule 8(c)).

The default format follows China's Form E numbering: ``E`` + 2-digit year + 9-character
registration number of the applicant + 4-digit serial, 16 characters in all (for example
``E193800000050045``, the 45th Form E of 2019 for registrant 380000005). China's RCEP numbering
is not published; by project convention it uses the same pattern with the prefix ``R``.
An office configures its own :class:`ReferenceFormat` where it differs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


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


def format_reference(
    agreement: str,
    office_registration: str,
    year: int,
    serial: int,
    *,
    formats: Mapping[str, ReferenceFormat] = DEFAULT_FORMATS,
) -> str:
    """The reference number for ``agreement``; ValueError on an unknown agreement or overflow."""
    try:
        reference_format = formats[agreement]
    except KeyError:
        raise ValueError(f"no reference number format for agreement {agreement!r}") from None
    return reference_format.format(office_registration, year, serial)


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
