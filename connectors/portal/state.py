"""The portal's collaborators, shared by its routes: settings, the Kafka-backed view, the token
verifier, the publisher, the rate limiter and the web sessions (no module-level state)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from connectors.portal.guards import RateLimiter
from connectors.portal.sessions import SessionStore
from connectors.portal.tokens import TokenVerifier
from connectors.portal.view import PortalView
from pipeline.events import Envelope
from pipeline.settings import Settings

Publisher = Callable[[Sequence[Envelope]], Awaitable[None]]


@dataclass
class Portal:
    settings: Settings
    verifier: TokenVerifier
    publish: Publisher
    view: PortalView = field(default_factory=PortalView)
    sessions: SessionStore = field(default_factory=SessionStore)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(300))
    ready: bool = False
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    submitting: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def notify(self) -> None:
        """Wake the event streams: the view has changed."""
        async with self.changed:
            self.changed.notify_all()
