"""The one error tree of eco-pipeline.

Stages route on these classes and on nothing else::

    EcoError
    ├── RetryableError            try again later: bounded retries with back-off
    │   ├── DependencyUnavailable     broker, customs endpoint or store not reachable
    │   └── CustomsTemporaryFailure   timeout or 5xx from a customs endpoint
    └── PermanentError            retrying cannot help: dead-letter with the reason
        ├── UndecodableEvent          bytes or headers that are not a valid event
        ├── InvalidInput              a document that breaks the contract
        │   └── InvalidApplication        an application document, with problems by path
        ├── InvalidRules              a product-specific-rule table that cannot be read
        ├── SignatureInvalid          an XML signature that does not verify
        ├── UnsafeXml                 XML refused by the hardened parser
        ├── IllegalTransition         a state change the state machine forbids
        ├── BusinessRejection         a final "no" from a rule or a counterparty
        └── ConfigurationError        settings, keys or files a process cannot start with

Outside the tree, a timeout (``TimeoutError``) and an operating-system error
(``OSError``: connection refused or reset, a full disk, the document store) are
retryable too; the stage frame turns the Kafka client's errors into
DependencyUnavailable at its edge (a record the broker refuses for its size is
permanent). Anything else raised inside a stage is treated as permanent for that
message (it is dead-lettered with its type and text) so that one bad message never
blocks the ones behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class EcoError(Exception):
    """Root of every error eco-pipeline raises on purpose."""

    retryable: bool = False


class RetryableError(EcoError):
    """A failure that may pass: the stage retries with back-off, a bounded number of times."""

    retryable = True


class DependencyUnavailable(RetryableError):
    """A dependency (broker, customs endpoint, document store) did not answer."""


class CustomsTemporaryFailure(RetryableError):
    """A customs endpoint timed out or answered 5xx."""


class PermanentError(EcoError):
    """A failure that retrying cannot fix: the message goes to the dead-letter topic."""


class UndecodableEvent(PermanentError):
    """The bytes or headers of a message are not an event this version can read."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where: a JSON path such as ``items[0].fob.amount``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidInput(PermanentError):
    """An input document breaks its contract; ``problems`` says what and where."""

    def __init__(self, problems: Sequence[Problem], source: str = "") -> None:
        self.problems = tuple(problems)
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(str(p) for p in self.problems))


class InvalidApplication(InvalidInput):
    """An application document (JSON or XML, v1) that cannot be examined as it stands."""


class InvalidRules(PermanentError):
    """A product-specific-rule table that cannot be read."""


class SignatureInvalid(PermanentError):
    """An XML signature that does not verify against the trust registry."""


class UnsafeXml(PermanentError):
    """XML refused by the hardened parser (DTD, entities, size, network access)."""


class IllegalTransition(PermanentError):
    """A state change that the certificate state machine does not allow."""


class BusinessRejection(PermanentError):
    """A final negative answer from a rule or a counterparty."""


TRANSIENT: tuple[type[BaseException], ...] = (TimeoutError, OSError)
"""Errors from outside the tree that may pass: timeouts, connections, files."""
class ConfigurationError(PermanentError):
    """The configuration cannot work: every problem at once, each naming the setting or file."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def is_retryable(error: BaseException) -> bool:
    """True for errors of the retryable branch, timeouts and OS errors; unknown errors are
    permanent."""
    if isinstance(error, EcoError):
        return error.retryable
    return isinstance(error, TRANSIENT)
