"""The stages' decisions as pure transitions.

Each module here holds one stage's decision as a plain function of the stage's state for
one key, the event and the instant of processing, with keys and configuration as
arguments::

    decide(state, event, now, ...) -> Transition(state', outputs, documents, notes)

A transition does no I/O: the stage frame (``agents/frame.py``) reads the state from a
table, applies the transition, writes the new state back, stores the documents and
publishes the outputs. Transitions are idempotent: the same event applied to the state it
produced yields the same outputs again (same event ids), so a redelivered event is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pipeline.events import Envelope

StateT = TypeVar("StateT")


@dataclass(frozen=True)
class Emit:
    """One event to publish: to the topic of its type unless ``topic`` says otherwise, keyed by
    its subject unless ``key`` says otherwise (a repartitioned topic)."""

    envelope: Envelope
    topic: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Plain:
    """A record that is not an event (the status view): topic, key, value and headers."""

    topic: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


Output = Emit | Plain


@dataclass(frozen=True)
class Document:
    """A signed document for the document store, written before the outputs are published."""

    name: str
    content: bytes


@dataclass(frozen=True)
class Note:
    """One structured log line the frame writes for the transition (snake_case event name)."""

    event: str
    level: str = "info"
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition(Generic[StateT]):
    """What one event does: the key's new state, the events to publish, the documents to
    store and what to log. ``dead_letter`` keeps the state change but sends the input to the
    dead-letter topic with that reason (a deadline that cannot be raised, marked done)."""

    state: StateT
    outputs: tuple[Output, ...] = ()
    documents: tuple[Document, ...] = ()
    notes: tuple[Note, ...] = ()
    dead_letter: str | None = None


def unchanged(state: StateT, *notes: Note) -> Transition[StateT]:
    """The transition of an event that changes nothing."""
    return Transition(state, notes=notes)


def instant(moment: datetime) -> datetime:
    """An instant to the second, as certificates and deadlines print it."""
    return moment.replace(microsecond=0)
