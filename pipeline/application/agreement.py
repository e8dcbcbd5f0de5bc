"""The agreements an application can be made under, and who their Parties are.

RCEP has fifteen Parties (the ten ASEAN Member States, Australia, China, Japan,
Korea and New Zealand); ACFTA ("Form E") has China and the ten ASEAN Member
States. Membership decides which importing countries are valid and which
materials may be accumulated (RCEP Art. 3.4; ACFTA Rules of Origin, Rule 5).
"""

from __future__ import annotations

from enum import StrEnum

ASEAN = frozenset({"BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"})


class Agreement(StrEnum):
    """A free trade agreement whose certificate of origin the pipeline issues."""

    RCEP = "RCEP"
    ACFTA = "ACFTA"

    @property
    def parties(self) -> frozenset[str]:
        """ISO 3166 alpha-2 codes of the Parties to the agreement."""
        return PARTIES[self]

    def is_party(self, country: str | None) -> bool:
        """True when ``country`` is a Party to the agreement."""
        return country is not None and country.upper() in PARTIES[self]


PARTIES: dict[Agreement, frozenset[str]] = {
    Agreement.RCEP: ASEAN | {"AU", "CN", "JP", "KR", "NZ"},
    Agreement.ACFTA: ASEAN | {"CN"},
}


def known_hs_chapter(code: str) -> bool:
    """True for chapters 01-97 of the Harmonized System, except the reserved chapter 77."""
    if len(code) < 2 or not code[:2].isdigit():
        return False
    chapter = int(code[:2])
    return 1 <= chapter <= 97 and chapter != 77
