"""The origin criteria, each tested for one good under one ``View`` of its materials.

Every test answers MET, NOT_MET or UNKNOWN (data needed to decide is missing,
named by ``problems``), with a reason and the arithmetic shown as workings.

* WO: wholly obtained or produced in the exporting Party (RCEP Art. 3.3).
* PE: produced there exclusively from originating materials (RCEP Art. 3.2(b)).
* CC, CTH, CTSH: every non-originating material changes chapter, heading or
  subheading, save those within de minimis (RCEP Art. 3.7).
* process rules (``CR``, the textile processes): the declared processes
  (``pipeline.origin.processes``).
* RVC: regional value content, build-down ``(FOB - VNM) / FOB x 100`` or
  build-up ``(VOM + costs) / FOB x 100`` (RCEP Art. 3.5), compared unrounded.

Every criterion but WO and PE is denied when the good underwent only minimal
operations (RCEP Art. 3.6, ACFTA Rule 7: they apply to work on non-originating
materials, which WO and PE goods do not have).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pipeline.application import Agreement, Item, RvcMethod
from pipeline.errors import Problem
from pipeline.origin.figures import HUNDRED, share, show
from pipeline.origin.operations import OperationsCheck, check_operations
from pipeline.origin.processes import process_rules, read_processes
from pipeline.origin.rules import Term, TermKind, show_exceptions
from pipeline.origin.standing import MaterialStanding, View

DE_MINIMIS = Decimal(10)
_LEVELS = {
    TermKind.CC: (2, "chapter"),
    TermKind.CTH: (4, "heading"),
    TermKind.CTSH: (6, "subheading"),
}
# RCEP Art. 3.7(b): for goods of chapters 50-63 de minimis may also be measured by weight.
WEIGHT_DE_MINIMIS_CHAPTERS = {Agreement.RCEP: range(50, 64), Agreement.ACFTA: range(0)}
DE_MINIMIS_RULE = {Agreement.RCEP: "RCEP Art. 3.7", Agreement.ACFTA: "ACFTA de minimis rule"}


class Outcome(StrEnum):
    """The answer of one test: met, not met, or undecidable with the data given."""

    MET = "met"
    NOT_MET = "not met"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Good:
    """An item under examination: its path, the agreement and how its materials stand."""

    item: Item
    path: str
    agreement: Agreement
    exporting_party: str
    materials: tuple[MaterialStanding, ...] | None
    operations: OperationsCheck | None = None

    @property
    def minimal_operations(self) -> OperationsCheck:
        """The declared processes read against RCEP Art. 3.6 / ACFTA Rule 7."""
        if self.operations is not None:
            return self.operations
        return check_operations(self.item.processes, self.agreement)

    @property
    def components(self) -> tuple[MaterialStanding, ...] | None:
        """The materials that count for WO, PE, tariff shifts and process rules: packing and
        accessories are disregarded there (RCEP Arts. 3.8-3.9; ACFTA Rules 10-11)."""
        if self.materials is None:
            return None
        return tuple(m for m in self.materials if m.material.role.counts_for_tariff_shift)

    @property
    def valued(self) -> tuple[MaterialStanding, ...] | None:
        """The materials that count in the RVC: all but packing for transport (RCEP
        Art. 3.8.1); retail packing and accessories count by their own origin."""
        if self.materials is None:
            return None
        return tuple(m for m in self.materials if m.material.role.counts_for_value)

    def at(self, field: str) -> str:
        """The JSON path of one of the item's fields."""
        return f"{self.path}.{field}"


@dataclass(frozen=True)
class Finding:
    """The outcome of testing one term, why, and the arithmetic behind it."""

    term: Term
    outcome: Outcome
    reason: str
    problems: tuple[Problem, ...] = ()
    workings: tuple[str, ...] = ()
    de_minimis: bool = False
    rvc_percent: Decimal | None = None
    rvc_method: RvcMethod | None = None


def test_term(term: Term, good: Good, view: View) -> Finding:
    """Test ``term`` for ``good`` under ``view``. Minimal operations deny every criterion that
    relies on non-originating materials being transformed (RCEP Art. 3.6; ACFTA Rule 7)."""
    if term.kind is TermKind.WO:
        return wholly_obtained(term, good, view)
    if term.kind is TermKind.PE:
        return produced_entirely(term, good, view)
    if good.minimal_operations.denies_origin:
        reason = f"{term} not met: {good.minimal_operations.reason}"
        return Finding(term, Outcome.NOT_MET, reason)
    if term.kind is TermKind.PROCESS:
        return process_rule(term, good)
    if term.kind is TermKind.RVC:
        return value_content(term, good, view)
    return tariff_shift(term, good, view)


def process_rule(term: Term, good: Good) -> Finding:
    """A process rule (``CR``, the textile processes) read against the declared processes;
    UNKNOWN, asking for the processes, when they cannot decide."""
    reading = read_processes(process_rules()[term.process or ""], good.item.processes)
    if reading.met is None:
        problem = Problem(
            good.at("processes"),
            f"the processes carried out are needed to tell whether {term} is met",
        )
        return Finding(term, Outcome.UNKNOWN, reading.reason, (problem,))
    return Finding(term, Outcome.MET if reading.met else Outcome.NOT_MET, reading.reason)


def _materials_missing(term: Term, good: Good) -> Finding:
    problem = Problem(good.at("materials"), "the materials used are needed to determine origin")
    return Finding(term, Outcome.UNKNOWN, f"{term}: no materials declared", (problem,))


def wholly_obtained(term: Term, good: Good, view: View) -> Finding:
    """WO: declared wholly obtained, with no material from outside the exporting Party."""
    if good.item.wholly_obtained is not True:
        return Finding(
            term, Outcome.NOT_MET, "WO not met: the good is not declared wholly obtained"
        )
    foreign = [m for m in good.components or () if not view.originating(m, domestic_only=True)]
    if foreign:
        names = ", ".join(_label(m) for m in foreign)
        reason = f"WO not met: declared wholly obtained, yet {names} did not originate in "
        return Finding(term, Outcome.NOT_MET, reason + good.exporting_party)
    return Finding(term, Outcome.MET, f"WO met: wholly obtained in {good.exporting_party}")


def produced_entirely(term: Term, good: Good, view: View) -> Finding:
    """PE: produced exclusively from originating materials (accumulated ones included)."""
    if good.components is None:
        return _materials_missing(term, good)
    if not good.components:
        return Finding(term, Outcome.NOT_MET, "PE not met: no materials declared")
    foreign = [m for m in good.components if not view.originating(m)]
    if foreign:
        return Finding(
            term, Outcome.NOT_MET, f"PE not met: {len(foreign)} non-originating material(s)"
        )
    return Finding(term, Outcome.MET, "PE met: every material is originating")


def _label(m: MaterialStanding) -> str:
    code = m.material.hs_code or "HS ?"
    return f"{code} ({m.material.description})" if m.material.description else code


def _changes(kind: TermKind, good_hs: str, material_hs: str | None) -> bool | None:
    """Whether a material's classification differs from the good's at the rule's level; None
    when it cannot be told (no HS code, or a 4-digit code of the good's heading under CTSH)."""
    digits = _LEVELS[kind][0]
    if material_hs is None:
        return None
    if len(material_hs) < digits:
        return True if material_hs[:4] != good_hs[:4] else None
    return material_hs[:digits] != good_hs[:digits]


def _excepted(term: Term, material_hs: str | None) -> tuple[Outcome, str]:
    """Whether a material comes from one of the term's exceptions, which do not make the
    change (RCEP Annex 3A, rules "except from"): MET with the code it falls in, NOT_MET when
    it falls in none, UNKNOWN when its code is missing or too short to tell."""
    if material_hs is None:
        return Outcome.UNKNOWN, ""
    for code in term.excepted:
        if material_hs.startswith(code):
            return Outcome.MET, code
    if any(code.startswith(material_hs) for code in term.excepted):
        return Outcome.UNKNOWN, ""
    return Outcome.NOT_MET, ""


def tariff_shift(term: Term, good: Good, view: View) -> Finding:
    """CC/CTH/CTSH with de minimis (RCEP Art. 3.7)."""
    level = _LEVELS[term.kind][1]
    if good.components is None:
        return _materials_missing(term, good)
    failing: list[MaterialStanding] = []
    unclassified: list[MaterialStanding] = []
    workings: list[str] = []
    for m in good.components:
        if view.originating(m):
            continue
        changes = _changes(term.kind, good.item.hs_code, m.material.hs_code)
        verdict = {True: "changes", False: "keeps the", None: "cannot tell the"}[changes]
        if term.excepted and changes is not False:
            excepted, code = _excepted(term, m.material.hs_code)
            if excepted is Outcome.MET:
                changes = False
                verdict = f"comes from the excepted {show_exceptions([code])}: no change in"
            elif excepted is Outcome.UNKNOWN and changes:
                changes = None
                verdict = (f"cannot tell whether it comes from {show_exceptions(term.excepted)}"
                           ", so cannot tell the")
        workings.append(f"{term}: {_label(m)} -> {good.item.hs_code}: {verdict} {level}")
        if changes is False:
            failing.append(m)
        elif changes is None:
            unclassified.append(m)
    if not failing and not unclassified:
        return Finding(
            term,
            Outcome.MET,
            f"{term} met: every non-originating material changes {level}",
            workings=tuple(workings),
        )
    return _with_de_minimis(term, good, failing, unclassified, tuple(workings))


def _with_de_minimis(
    term: Term,
    good: Good,
    failing: Sequence[MaterialStanding],
    unclassified: Sequence[MaterialStanding],
    workings: tuple[str, ...],
) -> Finding:
    level = _LEVELS[term.kind][1]
    rule = DE_MINIMIS_RULE[good.agreement]
    fob = good.item.fob.amount if good.item.fob else None
    tests = [_share_test("value", "FOB value", failing, unclassified, fob, good.at("fob"))]
    if int(good.item.hs_code[:2]) in WEIGHT_DE_MINIMIS_CHAPTERS[good.agreement]:
        tests.append(
            _share_test(
                "weight_kg",
                "weight of the good",
                failing,
                unclassified,
                good.item.gross_weight_kg,
                good.at("gross_weight_kg"),
            )
        )
    texts = tuple(f"de minimis: {t.text}" for t in tests)
    shares = "; ".join(t.text for t in tests)
    names = ", ".join(_label(m) for m in failing) or "no material"
    head = f"{names} without a change in {level}"
    if any(t.outcome is Outcome.MET for t in tests):
        reason = f"{term} met with de minimis ({rule}): {head}, {shares}"
        return Finding(term, Outcome.MET, reason, (), workings + texts, de_minimis=True)
    if all(t.outcome is Outcome.NOT_MET for t in tests):
        reason = f"{term} not met: {head}, {shares}, above the {DE_MINIMIS} % de minimis ({rule})"
        return Finding(term, Outcome.NOT_MET, reason, (), workings + texts)
    problems = [
        Problem(f"{m.path}.hs_code", f"the HS code is needed to tell whether it changes {level}")
        for m in unclassified
    ]
    problems += [p for t in tests if t.outcome is Outcome.UNKNOWN for p in t.problems]
    reason = f"{term} undecided: {head}, and the de minimis share cannot be computed"
    return Finding(term, Outcome.UNKNOWN, reason, tuple(problems), workings + texts)


@dataclass(frozen=True)
class _ShareTest:
    outcome: Outcome
    text: str
    problems: tuple[Problem, ...] = ()


def _share_test(
    field: str,
    measure: str,
    failing: Sequence[MaterialStanding],
    unclassified: Sequence[MaterialStanding],
    total: Decimal | None,
    total_path: str,
) -> _ShareTest:
    """Whether the materials without the change stay within 10 % of ``total``, bounding the
    materials whose amount or classification is unknown."""
    if total is None or total == 0:
        problem = Problem(total_path, f"the {measure} is needed for the de minimis test")
        return _ShareTest(Outcome.UNKNOWN, f"{measure} not given", (problem,))
    amounts = [getattr(m.material, field) for m in failing]
    known = sum((a for a in amounts if a is not None), Decimal(0))
    limit = total * DE_MINIMIS / HUNDRED
    if known > limit:
        return _ShareTest(
            Outcome.NOT_MET, f"{show(known)} = {show(share(known, total))} % of the {measure}"
        )
    everything = [*failing, *unclassified]
    missing = [m for m in everything if getattr(m.material, field) is None]
    if not missing:
        upper = sum((getattr(m.material, field) for m in everything), Decimal(0))
        text = f"{show(upper)} = {show(share(upper, total))} % of the {measure}"
        if upper <= limit:
            return _ShareTest(Outcome.MET, text + f", within {DE_MINIMIS} %")
        if not unclassified:
            return _ShareTest(Outcome.NOT_MET, text)
    what = "value" if field == "value" else "weight"
    problems = tuple(
        Problem(f"{m.path}.{field}", f"the {what} is needed for the de minimis test")
        for m in missing
    )
    return _ShareTest(Outcome.UNKNOWN, f"share of the {measure} unknown", problems)


def value_content(term: Term, good: Good, view: View) -> Finding:
    """RVC build-down or build-up (RCEP Art. 3.5), compared unrounded with the threshold."""
    threshold = term.threshold or Decimal(0)
    method = good.item.rvc_method or RvcMethod.BUILD_DOWN
    if good.valued is None:
        return _materials_missing(term, good)
    problems: list[Problem] = []
    if good.item.fob is None:
        problems.append(Problem(good.at("fob"), "the FOB value is needed to compute the RVC"))
    build_up = method is RvcMethod.BUILD_UP
    counted = [m for m in good.valued if view.originating(m) == build_up]
    problems += [
        Problem(f"{m.path}.value", "the value is needed to compute the RVC")
        for m in counted
        if m.material.value is None
    ]
    costs = good.item.costs
    if build_up and costs is None:
        problems.append(Problem(good.at("costs"), "the costs are needed for the build-up RVC"))
    if problems or good.item.fob is None:
        reason = f"{term} undecided: the RVC ({method}) cannot be computed"
        return Finding(term, Outcome.UNKNOWN, reason, tuple(problems), rvc_method=method)
    fob = good.item.fob.amount
    values = [m.material.value for m in counted if m.material.value is not None]
    total = sum(values, Decimal(0))
    name = "VOM" if build_up else "VNM"
    workings = [f"{name} = " + (" + ".join(show(v) for v in values) or "0") + f" = {show(total)}"]
    if build_up and costs is not None:
        numerator = total + costs.total
        workings.append(f"costs = {show(costs.total)} (labour, overhead, profit, other)")
        formula = f"({show(total)} + {show(costs.total)}) / {show(fob)} x 100"
    else:
        numerator = fob - total
        formula = f"({show(fob)} - {show(total)}) / {show(fob)} x 100"
    percent = share(numerator, fob)
    workings.append(f"RVC ({method}) = {formula} = {show(percent)} %")
    if percent > HUNDRED:
        problem = Problem(
            good.at("costs"),
            f"originating materials and costs ({show(numerator)}) exceed the FOB ({show(fob)})",
        )
        reason = f"{term} undecided: the build-up figures exceed the FOB value"
        return Finding(
            term, Outcome.UNKNOWN, reason, (problem,), tuple(workings), rvc_method=method
        )
    met = percent >= threshold
    sign = ">=" if met else "<"
    reason = (
        f"{term} {'met' if met else 'not met'}: RVC {show(percent)} % {sign} "
        f"{threshold.normalize():f} % ({method})"
    )
    outcome = Outcome.MET if met else Outcome.NOT_MET
    return Finding(
        term, outcome, reason, (), tuple(workings), rvc_percent=percent, rvc_method=method
    )
