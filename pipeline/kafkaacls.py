"""Who may write and read each topic (docs/security.md), as Kafka ACLs for the
StandardAuthorizer, and their creation through the Admin API.

The plan is plain data: a principal per role, each binding ALLOW or DENY of one operation on a
topic (literal or prefixed) or a consumer group. A DENY wins over any ALLOW, so the worker may
do everything on ``eco.*`` except write the two topics that carry authority: ``eco.trust``
(issuing authorities, Form E Rule 3) and ``eco.issuance-commands`` (officers' supersessions and
revocations, Rule 10). Those are written by the trust-admin and officer principals only, and
their messages are signed as well (``pipeline.certificate.notification``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from pipeline.errors import DependencyUnavailable

# Kafka's wire codes (org.apache.kafka.common.acl / resource).
RESOURCE = {"TOPIC": 2, "GROUP": 3, "CLUSTER": 4}
PATTERN = {"LITERAL": 3, "PREFIXED": 4}
OPERATION = {"ALL": 2, "READ": 3, "WRITE": 4, "CREATE": 5, "DESCRIBE": 8,
             "DESCRIBE_CONFIGS": 10, "IDEMPOTENT_WRITE": 12}
PERMISSION = {"DENY": 2, "ALLOW": 3}

TRUST_TOPIC = "eco.trust"
COMMANDS_TOPIC = "eco.issuance-commands"


@dataclass(frozen=True)
class Roles:
    """The principals (SCRAM user names) of each role."""

    worker: str = "eco-worker"
    trust_admin: str = "eco-trust-admin"
    officer: str = "eco-officer"
    submitter: str = "eco-submitter"


@dataclass(frozen=True)
class AclBinding:
    permission: str  # ALLOW, DENY
    principal: str  # a user name; "User:" is added
    operation: str
    resource: str  # TOPIC, GROUP, CLUSTER
    name: str
    pattern: str = "LITERAL"

    def describe(self) -> str:
        return (f"{self.permission} User:{self.principal} {self.operation} {self.resource} "
                f"{self.pattern} {self.name}")


def acl_plan(roles: Roles, app_id: str) -> list[AclBinding]:
    """The bindings of docs/security.md for a worker group ``app_id``."""
    w, t, o, s = roles.worker, roles.trust_admin, roles.officer, roles.submitter
    plan = [
        # The worker: its stages' topics, Faust's own topics and group, creating topics.
        AclBinding("ALLOW", w, "ALL", "TOPIC", "eco.", "PREFIXED"),
        AclBinding("ALLOW", w, "ALL", "TOPIC", f"{app_id}-", "PREFIXED"),
        AclBinding("ALLOW", w, "ALL", "GROUP", app_id, "PREFIXED"),
        AclBinding("ALLOW", w, "IDEMPOTENT_WRITE", "CLUSTER", "kafka-cluster"),
        AclBinding("ALLOW", w, "DESCRIBE_CONFIGS", "CLUSTER", "kafka-cluster"),
        AclBinding("DENY", w, "WRITE", "TOPIC", TRUST_TOPIC),
        AclBinding("DENY", w, "WRITE", "TOPIC", COMMANDS_TOPIC),
    ]
    for principal, topic, reads in ((t, TRUST_TOPIC, [TRUST_TOPIC]),
                                    (o, COMMANDS_TOPIC, ["eco.status"]),
                                    (s, "eco.application", ["eco.status", "eco.alert"])):
        plan += [AclBinding("ALLOW", principal, "WRITE", "TOPIC", topic),
                 AclBinding("ALLOW", principal, "DESCRIBE", "TOPIC", topic),
                 AclBinding("ALLOW", principal, "IDEMPOTENT_WRITE", "CLUSTER", "kafka-cluster")]
        plan += [AclBinding("ALLOW", principal, op, "TOPIC", name)
                 for name in reads for op in ("READ", "DESCRIBE")]
    return plan


async def create_acls(client_options: dict[str, Any], bindings: Sequence[AclBinding]) -> None:
    """Create ``bindings`` with a principal allowed to alter ACLs (a super user)."""
    admin = AIOKafkaAdminClient(**client_options, request_timeout_ms=15000)
    await admin.start()
    try:
        for binding in bindings:
            request = CreateAclsRequest(
                RESOURCE[binding.resource], binding.name, PATTERN[binding.pattern],
                f"User:{binding.principal}", "*", OPERATION[binding.operation],
                PERMISSION[binding.permission])
            response = await admin._send_request(request)  # no public call in aiokafka yet
            for code, message in response.creation_responses:
                if code:
                    raise DependencyUnavailable(
                        f"cannot create ACL {binding.describe()}: error {code} {message}")
    finally:
        await admin.close()
