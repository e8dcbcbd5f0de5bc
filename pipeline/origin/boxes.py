"""The origin criterion as written on the certificate.

Form E Box 8 (Revised Form E, 2019) takes ``WO``, ``PE``, ``CTH``, the RVC
percentage such as ``55%`` (general rule), or ``PSR`` for a product-specific
rule. RCEP Box 10 takes ``WO``, ``PE``, ``CTC`` or ``RVC``, followed by ``ACU``
when accumulation was relied on and ``DMI`` when de minimis was applied, for
example ``CTC, ACU``.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from pipeline.application import Agreement
from pipeline.origin.rules import GENERAL_RULES, AppliedRule, Term, TermKind

_RCEP_CODES = {
    TermKind.WO: "WO",
    TermKind.PE: "PE",
    TermKind.CC: "CTC",
    TermKind.CTH: "CTC",
    TermKind.CTSH: "CTC",
    TermKind.RVC: "RVC",
}


def certificate_box(
    agreement: Agreement,
    alternative: tuple[Term, ...],
    applied: AppliedRule,
    rvc_percent: Decimal | None,
    accumulation: bool,
    de_minimis: bool,
) -> str:
    """The text of Form E Box 8 or RCEP Box 10 for the alternative met."""
    ordered = sorted(alternative, key=lambda t: t.kind.rank)
    kinds = [t.kind for t in ordered]
    if agreement is Agreement.RCEP:
        # RCEP Box 10 has CR for chemical reaction; other process rules print their code.
        codes = list(dict.fromkeys(_RCEP_CODES.get(t.kind) or t.code for t in ordered))
        codes += ["ACU"] * accumulation + ["DMI"] * de_minimis
        return ", ".join(codes)
    return _form_e_box(kinds, applied, agreement, rvc_percent)


def _form_e_box(
    kinds: list[TermKind], applied: AppliedRule, agreement: Agreement, rvc_percent: Decimal | None
) -> str:
    if kinds in ([TermKind.WO], [TermKind.PE]):
        return kinds[0].value
    general = GENERAL_RULES[agreement]
    if general is None or str(applied.rule) != str(general):
        return "PSR"
    if kinds == [TermKind.RVC] and rvc_percent is not None:
        # Whole percent rounded down, so the box never claims more content than was found.
        return f"{rvc_percent.to_integral_value(rounding=ROUND_FLOOR)}%"
    return kinds[-1].value
