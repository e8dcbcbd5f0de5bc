"""Origin determination and examination of applications, pure and free of Kafka and I/O.

``examine(app, rules, on_date)`` gives the verdict and, per item, the criterion
met (WO, PE, CC, CTH, CTSH, RVC), the certificate box text, the RVC and the
reasons. ``default_rulebook()`` is the shipped product-specific rule table;
``RuleBook.load(paths)`` overlays further tables.
"""

from pipeline.origin.declarations import SupplierDeclaration
from pipeline.origin.determination import ItemResult, Verdict, determine_origin
from pipeline.origin.examination import Examination, examine
from pipeline.origin.rules import (
    GENERAL_RULES,
    Rule,
    RuleBook,
    RuleEntry,
    RuleTable,
    Term,
    TermKind,
    default_rulebook,
    parse_rule,
    parse_rule_table,
    read_rule_table,
)

__all__ = [
    "GENERAL_RULES",
    "Examination",
    "ItemResult",
    "Rule",
    "RuleBook",
    "RuleEntry",
    "RuleTable",
    "SupplierDeclaration",
    "Term",
    "TermKind",
    "Verdict",
    "default_rulebook",
    "determine_origin",
    "examine",
    "parse_rule",
    "parse_rule_table",
    "read_rule_table",
]
