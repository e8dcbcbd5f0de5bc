"""Origin determination for one item: which alternative of its rule is met, if any.

A good is originating if it is wholly obtained (WO), produced entirely from
originating materials (PE), or meets its product-specific rule (RCEP Art. 3.2;
ACFTA Rule 2). Where several alternatives are met the one that discloses least
is reported: WO, then PE, then a change in tariff classification, then RVC.
The determination first takes every claim at face value; when it qualifies it
checks whether it relies on accumulation (the ``ACU`` flag) and on originating
claims that cite no supplier declaration (then the item is INCOMPLETE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pipeline.application import Agreement, Item, MaterialRole, RvcMethod
from pipeline.errors import Problem
from pipeline.origin.boxes import certificate_box
from pipeline.origin.criteria import Finding, Good, Outcome, test_term
from pipeline.origin.cumulation import (
    NOT_NEEDED,
    Cumulation,
    cumulation_condition,
    has_other_parties_materials,
)
from pipeline.origin.declarations import SupplierDeclaration
from pipeline.origin.figures import show
from pipeline.origin.operations import check_operations
from pipeline.origin.rules import PE, WO, AppliedRule, RuleBook, Term, TermKind
from pipeline.origin.standing import MaterialStanding, Standing, View, assess_material


class Verdict(StrEnum):
    """The answer for an item or an application."""

    QUALIFIED = "QUALIFIED"
    NOT_QUALIFIED = "NOT_QUALIFIED"
    INCOMPLETE = "INCOMPLETE"


@dataclass(frozen=True)
class ItemResult:
    """The determination for one item, with the criterion and box text when it qualifies."""

    item_no: int
    hs_code: str
    verdict: Verdict
    criterion: TermKind | None = None
    criterion_code: str | None = None
    rule: str | None = None
    rule_source: str | None = None
    box: str | None = None
    rvc_percent: Decimal | None = None
    rvc_method: RvcMethod | None = None
    de_minimis: bool = False
    accumulation: bool = False
    fob_shown: bool = False
    reasons: tuple[str, ...] = ()
    errors: tuple[Problem, ...] = ()
    missing_supplier_declarations: tuple[str, ...] = ()
    workings: tuple[str, ...] = ()
    cumulation: Cumulation = NOT_NEEDED

    @property
    def qualified(self) -> bool:
        """True when the item qualifies in its own right (Form E Rule 7(e))."""
        return self.verdict is Verdict.QUALIFIED


@dataclass(frozen=True)
class _Decision:
    outcome: Outcome
    alternative: tuple[Term, ...] | None
    findings: Mapping[Term, Finding]
    unknown: tuple[tuple[Term, ...], ...]


def _combine(findings: Sequence[Finding]) -> Outcome:
    outcomes = {f.outcome for f in findings}
    if Outcome.NOT_MET in outcomes:
        return Outcome.NOT_MET
    return Outcome.UNKNOWN if Outcome.UNKNOWN in outcomes else Outcome.MET


def _decide(alternatives: Sequence[tuple[Term, ...]], good: Good, view: View) -> _Decision:
    terms = dict.fromkeys(t for alt in alternatives for t in alt)
    findings = {t: test_term(t, good, view) for t in terms}
    outcomes = [_combine([findings[t] for t in alt]) for alt in alternatives]
    met = [alt for alt, o in zip(alternatives, outcomes, strict=True) if o is Outcome.MET]
    unknown = tuple(a for a, o in zip(alternatives, outcomes, strict=True) if o is Outcome.UNKNOWN)
    if met:
        best = min(met, key=lambda alt: max(t.kind.rank for t in alt))
        return _Decision(Outcome.MET, best, findings, unknown)
    return _Decision(Outcome.UNKNOWN if unknown else Outcome.NOT_MET, None, findings, unknown)


def _unique(problems: Sequence[Problem]) -> tuple[Problem, ...]:
    """One problem per path, the first one found."""
    first: dict[str, Problem] = {}
    for problem in problems:
        first.setdefault(problem.path, problem)
    return tuple(first.values())


def _material_lines(standings: Sequence[MaterialStanding]) -> list[str]:
    lines = []
    for m in standings:
        material = m.material
        origin = material.origin_country or "origin unknown"
        value = show(material.value) if material.value is not None else "value not given"
        backing = ", no supplier declaration" if m.unbacked else ""
        lines.append(
            f"{m.path}: {material.hs_code or 'HS ?'} {material.description or ''}".rstrip()
            + f" | {origin} | {m.standing}{backing} | {value}"
        )
    return lines


_ROLE_RULES = {
    Agreement.RCEP: {
        MaterialRole.PACKING_RETAIL: "RCEP Art. 3.8.2",
        MaterialRole.ACCESSORY: "RCEP Art. 3.9",
        MaterialRole.PACKING_TRANSPORT: "RCEP Art. 3.8.1",
    },
    Agreement.ACFTA: {
        MaterialRole.PACKING_RETAIL: "ACFTA Rule 10",
        MaterialRole.ACCESSORY: "ACFTA Rule 11",
        MaterialRole.PACKING_TRANSPORT: "ACFTA Rule 10",
    },
}


def _role_reasons(standings: Sequence[MaterialStanding], agreement: Agreement) -> list[str]:
    """How packing and accessories were treated, one reason per material."""
    reasons = []
    for m in standings:
        role = m.material.role
        if role is MaterialRole.MATERIAL:
            continue
        label = f"{m.path} ({m.material.description or m.material.hs_code or role.value})"
        rule = _ROLE_RULES[agreement][role]
        if role is MaterialRole.PACKING_TRANSPORT:
            reasons.append(f"{label}: packing for transport, disregarded altogether ({rule})")
        else:
            kind = "retail packing" if role is MaterialRole.PACKING_RETAIL else "an accessory"
            reasons.append(
                f"{label}: {kind}, disregarded for the tariff shift and counted in the RVC as "
                f"{m.standing} ({rule})"
            )
    return reasons


def _material_reasons(standings: Sequence[MaterialStanding]) -> list[str]:
    reasons = [note for m in standings for note in m.notes]
    for m in standings:
        reasons += [f"{text}: counted as non-originating" for text in m.mismatches]
    return reasons


def determine_origin(
    item: Item,
    path: str,
    agreement: Agreement,
    exporting_party: str,
    rules: RuleBook,
    on_date: date,
    declarations: Mapping[str, SupplierDeclaration] | None = None,
) -> ItemResult:
    """Determine whether ``item`` (at JSON ``path``) originates in ``exporting_party``."""
    standings = None
    if item.materials is not None:
        standings = tuple(
            assess_material(
                m, f"{path}.materials[{i}]", agreement, exporting_party, on_date, declarations
            )
            for i, m in enumerate(item.materials)
        )
    good = Good(
        item, path, agreement, exporting_party, standings,
        check_operations(item.processes, agreement),
    )
    applied = rules.rule_for(agreement, item.hs_code)
    alternatives = list(
        dict.fromkeys([(WO,), (PE,), *(applied.rule.alternatives if applied.rule else ())])
    )
    base = View()
    decision = _decide(alternatives, good, base)
    cumulation = NOT_NEEDED
    if (
        agreement is Agreement.ACFTA
        and decision.alternative is not None
        and has_other_parties_materials(good)
        and _relies_on_accumulation(decision.alternative, good, standings, base)
    ):
        cumulation = cumulation_condition(good)
        if cumulation.met is not True:
            base = View(accumulate=False)
            decision = _decide(alternatives, good, base)
    context = _Context(good, standings or (), applied, cumulation)
    unbacked = [m for m in standings or () if m.unbacked]
    strict = replace(base, trust_unbacked=False)
    if decision.outcome is Outcome.MET and unbacked:
        strict_decision = _decide(alternatives, good, strict)
        if strict_decision.outcome is not Outcome.MET:
            message = (
                "an originating claim needs the supplier declaration it rests on (Form E Rule 5(b))"
            )
            missing = [Problem(f"{m.path}.supplier_declaration", message) for m in unbacked]
            note = "it qualifies only on originating claims that cite no supplier declaration"
            return _result(context, Verdict.INCOMPLETE, decision, base, tuple(missing), note)
        note = "originating claims without a supplier declaration were not relied on"
        return _result(context, Verdict.QUALIFIED, strict_decision, strict, (), note)
    if decision.outcome is Outcome.MET:
        return _result(context, Verdict.QUALIFIED, decision, base)
    errors: list[Problem] = list(cumulation.problems)
    if applied.rule is None:
        message = (
            f"no product-specific rule for HS {item.hs_code} under {agreement}, which has no "
            "general rule: add the rule table that covers it (--rules)"
        )
        errors.append(Problem(f"{path}.hs_code", message))
    for alt in decision.unknown:
        errors += [p for t in alt for p in decision.findings[t].problems]
    verdict = Verdict.INCOMPLETE if errors else Verdict.NOT_QUALIFIED
    return _result(context, verdict, decision, View(), _unique(errors))


@dataclass(frozen=True)
class _Context:
    good: Good
    standings: tuple[MaterialStanding, ...]
    applied: AppliedRule
    cumulation: Cumulation = NOT_NEEDED


def _rule_source(applied: AppliedRule) -> str | None:
    if applied.entry is not None:
        entry = applied.entry
        return f"{entry.location} ({entry.source})" if entry.source else entry.location
    return "general rule" if applied.rule is not None else None


def _result(
    context: _Context,
    verdict: Verdict,
    decision: _Decision,
    view: View,
    errors: tuple[Problem, ...] = (),
    note: str | None = None,
) -> ItemResult:
    good, standings, applied = context.good, context.standings, context.applied
    alternative = decision.alternative if verdict is Verdict.QUALIFIED else None
    rule_terms = applied.rule.terms if applied.rule else ()
    shown = [t for t in decision.findings if t in rule_terms]
    if alternative is not None and alternative[0] in (WO, PE):
        shown.insert(0, alternative[0])
    shown = list(dict.fromkeys(shown))
    reasons = _material_reasons(standings) + _role_reasons(standings, good.agreement)
    reasons += [note] if note else []
    reasons += [context.cumulation.reason] if context.cumulation.needed else []
    reasons += [decision.findings[t].reason for t in shown]
    if alternative is None or alternative[0] not in (WO, PE):
        reasons.append(good.minimal_operations.reason)
    workings = _material_lines(standings)
    workings += [w for t in shown for w in decision.findings[t].workings]
    rvc = next((f for f in decision.findings.values() if f.rvc_percent is not None), None)
    criterion, box, accumulation, de_minimis, fob_shown = None, None, False, False, False
    code = None
    if alternative is not None:
        deciding = max(alternative, key=lambda t: t.kind.rank)
        criterion, code = deciding.kind, deciding.code
        de_minimis = any(decision.findings[t].de_minimis for t in alternative)
        accumulation = _relies_on_accumulation(alternative, good, standings, view)
        fob_shown = any(t.kind is TermKind.RVC for t in alternative)
        box = certificate_box(
            good.agreement,
            alternative,
            applied,
            rvc.rvc_percent if rvc and fob_shown else None,
            accumulation,
            de_minimis,
        )
    return ItemResult(
        item_no=good.item.item_no,
        hs_code=good.item.hs_code,
        verdict=verdict,
        criterion=criterion,
        criterion_code=code,
        rule=str(applied.rule) if applied.rule else None,
        rule_source=_rule_source(applied),
        box=box,
        rvc_percent=rvc.rvc_percent if rvc else None,
        rvc_method=rvc.rvc_method if rvc else None,
        de_minimis=de_minimis,
        accumulation=accumulation,
        fob_shown=fob_shown,
        reasons=tuple(reasons),
        errors=errors,
        missing_supplier_declarations=tuple(
            f"{m.path}.supplier_declaration" for m in standings if m.unbacked
        ),
        workings=tuple(workings),
        cumulation=context.cumulation,
    )


def _relies_on_accumulation(
    alternative: tuple[Term, ...],
    good: Good,
    standings: Sequence[MaterialStanding] | None,
    view: View,
) -> bool:
    """True when the alternative met would fail without materials of other Parties (ACU)."""
    if not any(m.standing is Standing.ACCUMULATED for m in standings or ()):
        return False
    alone = View(accumulate=False, trust_unbacked=view.trust_unbacked)
    return _combine([test_term(t, good, alone) for t in alternative]) is not Outcome.MET
