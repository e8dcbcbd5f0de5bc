"""Who is calling: the tenant(s) and roles read from a checked access token's claims, and what
each role may do. Pure functions of the claims, no I/O.

Roles (the claim's values):
  exporter        submits and reads its own applications (tenant = its exporter id)
  representative  an authorised representative, a customs broker or forwarder acting for
                  several exporters (Form E Rule 6): the tenant claim lists them
  supplier        submits origin declarations for its customers
  officer         an issuing officer: reads every application, approves corrections,
                  certified true copies and revocations
  operations      reads everything, changes nothing
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXPORTER = "exporter"
REPRESENTATIVE = "representative"
SUPPLIER = "supplier"
OFFICER = "officer"
OPERATIONS = "operations"
ROLES = frozenset({EXPORTER, REPRESENTATIVE, SUPPLIER, OFFICER, OPERATIONS})


class NotAllowed(Exception):
    """The caller is known but may not do this (403)."""


@dataclass(frozen=True)
class Caller:
    subject: str
    name: str
    tenants: tuple[str, ...]
    roles: frozenset[str]

    @property
    def reads_all(self) -> bool:
        """Officers and operations see every tenant's applications."""
        return bool(self.roles & {OFFICER, OPERATIONS})

    def may_read(self, tenant: str | None) -> bool:
        return self.reads_all or (tenant is not None and tenant in self.tenants)

    def may_submit_for(self, exporter_id: str) -> bool:
        """Only an exporter for itself, or a representative for an exporter it acts for."""
        return bool(self.roles & {EXPORTER, REPRESENTATIVE}) and exporter_id in self.tenants

    @property
    def may_declare(self) -> bool:
        return SUPPLIER in self.roles

    @property
    def may_approve(self) -> bool:
        return OFFICER in self.roles


def caller_from_claims(claims: Mapping[str, Any], tenant_claim: str, roles_claim: str
                       ) -> Caller:
    """The caller a token's claims describe; NotAllowed when it has no tenant or no known
    role (a token for someone the portal has nothing to offer)."""
    tenant = claims.get(tenant_claim)
    tenants = tuple(str(t) for t in tenant) if isinstance(tenant, list) else (
        (str(tenant),) if isinstance(tenant, str) and tenant else ())
    raw_roles = claims.get(roles_claim)
    roles = frozenset(str(r) for r in raw_roles) if isinstance(raw_roles, list) else (
        frozenset({raw_roles}) if isinstance(raw_roles, str) else frozenset())
    known = roles & ROLES
    if not known:
        raise NotAllowed(f"the token's {roles_claim!r} claim names no role of the portal "
                         f"({', '.join(sorted(ROLES))})")
    if not tenants and not known & {OFFICER, OPERATIONS}:
        raise NotAllowed(f"the token carries no tenant in its {tenant_claim!r} claim")
    return Caller(subject=str(claims.get("sub", "")), name=str(claims.get("name") or
                                                                claims.get("sub", "")),
                  tenants=tenants, roles=known)
