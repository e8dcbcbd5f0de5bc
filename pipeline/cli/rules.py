"""``eco rules list|check HS``: the product-specific rule tables, and which rule applies to an
HS code and why. Exit 0 when a rule applies (``check``), 1 when none does, 2 for bad input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipeline.application.agreement import Agreement
from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK
from pipeline.errors import InvalidRules
from pipeline.origin.lookup import explain_rule, meaning, normalise_hs
from pipeline.origin.rules import RuleBook


def register(subparsers: Any) -> None:
    """Add the ``rules`` command."""
    parser = subparsers.add_parser(
        "rules",
        help="list the product-specific rules, or show which rule applies to an HS code",
        description="The product-specific rule tables: `list` prints their rows with source "
        "and status; `check HS` shows which rule applies to an HS code under each agreement, "
        "from which table and row, and why.",
    )
    commands = parser.add_subparsers(dest="rules_command", metavar="list|check", required=True)
    listing = commands.add_parser("list", help="every row of the tables")
    check = commands.add_parser("check", help="the rule for one HS code, and why")
    check.add_argument("hs", metavar="HS", help="chapter, heading or subheading (dots allowed)")
    for sub in (listing, check):
        sub.add_argument("--rules", type=Path, action="append", default=[], metavar="CSV",
                         help="a rule table on top of the built-in one (as in eco check)")
        sub.add_argument("--agreement", choices=[a.value for a in Agreement],
                         help="only this agreement")
        sub.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=run_list)
    check.set_defaults(run=run_check)


def _fail(message: str) -> int:
    print(f"eco rules: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _agreements(args: argparse.Namespace) -> list[Agreement]:
    return [Agreement(args.agreement)] if args.agreement else list(Agreement)


def run_list(args: argparse.Namespace) -> int:
    """Print every row, tables in order of increasing precedence."""
    try:
        book = RuleBook.load(args.rules)
    except InvalidRules as exc:
        return _fail(f"bad rule table: {exc}")
    wanted = set(_agreements(args))
    rows = [
        {"agreement": e.agreement.value, "hs": e.hs, "rule": str(e.rule), "status": e.status,
         "source": e.source, "location": e.location}
        for table in book.tables
        for e in table.entries.values()
        if e.agreement in wanted
    ]
    if args.json:
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    for row in rows:
        sys.stdout.write(
            f"{row['agreement']:<6} {row['hs']:<7} {row['rule']:<22} "
            f"[{row['status'] or 'no status'}] {row['source']}  ({row['location']})\n"
        )
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    """Explain the rule for ``args.hs`` under each agreement."""
    try:
        hs_code = normalise_hs(args.hs)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        book = RuleBook.load(args.rules)
    except InvalidRules as exc:
        return _fail(f"bad rule table: {exc}")
    answers = [explain_rule(book, agreement, hs_code) for agreement in _agreements(args)]
    if args.json:
        json.dump([a.to_json() for a in answers], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for answer in answers:
            sys.stdout.write(f"{answer.agreement} HS {hs_code}: {answer.rule or '(no rule)'}\n")
            for line in answer.why:
                sys.stdout.write(f"  - {line}\n")
            for term in answer.rule.terms if answer.rule else ():
                sys.stdout.write(f"  {term}: {meaning(term)}\n")
    return EXIT_OK if all(a.rule is not None for a in answers) else EXIT_NEGATIVE
