"""How Faust's consumer hands each fetched record to the streams, without tasks where nothing
has to wait.

Faust's consumer hands every record it fetched to the streams through
``wait_first(callback(message), suspend_flow.wait())``, so that a rebalance (the flow
suspended) or a stop interrupts a record that waits for room in a stream's buffer. That
``wait_first`` wraps the callback, the flow and the consumer's stopped and crashed events in
four tasks and waits for the first: every record costs at least two turns of the event loop,
and a turn lasts as long as the batch another stage decides in it. Flat out, records waited
there seconds with every stage's buffer empty (``docs/bench.md``).

Here the callback runs at once, as far as it goes without waiting: a record for streams with
room in their buffers is handed out in the consumer's own turn, with no task. A callback that
has to wait (a full buffer, the flow stopped) is carried on in a task, and waited for with
``wait_first`` as before, so a rebalance or a stop still interrupts it. Nothing else changes:
the callback is Faust's own, run once, to its end.

At 50/s offered, side by side in both orders, the worker's main thread spent 12.0 to 12.6 ms
of CPU per application with this hand-out against 18.5 to 19.9 ms without, and carried the
load (46 to 50/s accepted) where without it the pipeline fell behind (29 to 32/s).
"""

from __future__ import annotations

import inspect
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport import consumer as faust_consumer
from mode.services import WaitResults

_applied = False


class Continued:
    """The rest of a coroutine that stopped at ``waiting`` (what it yielded to the event loop):
    awaited in a task, it waits for that, then runs the coroutine on to its next stop, and so
    on to its end; anything thrown in (a cancellation) is thrown into the coroutine."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self.coroutine = coroutine
        self.waiting = waiting

    def __await__(self) -> Generator[Any, None, Any]:
        waiting = self.waiting
        while True:
            try:
                yield waiting
            except BaseException as exc:  # passed on to the coroutine
                try:
                    waiting = self.coroutine.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                waiting = self.coroutine.send(None)
            except StopIteration as stop:
                return stop.value


def started(coroutine: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Run ``coroutine`` until it ends or has to wait: ``(True, its result)`` if it ended,
    else ``(False, what it waits for)``."""
    try:
        return False, coroutine.send(None)
    except StopIteration as stop:
        return True, stop.value


async def _wait_first(self: Any, *coros: Any, timeout: Any = None) -> Any:
    """The consumer's ``wait_first``: the hand-out of a record (a callback's coroutine and the
    flow's wait, no timeout) starts the callback at once; anything else as Faust does it."""
    if timeout is not None or len(coros) != 2 or not inspect.iscoroutine(coros[0]) \
            or self.suspend_flow.is_set():
        return await _faust_wait_first(self, *coros, timeout=timeout)
    callback, flow = coros
    try:
        ended, value = started(callback)
    except BaseException:
        _close(flow)
        raise
    if ended:
        _close(flow)
        return WaitResults([callback], [value], False)
    return await _faust_wait_first(self, Continued(callback, value), flow)


def _close(waiting: Any) -> None:
    """Close a wait that is not needed (a coroutine never awaited)."""
    if inspect.iscoroutine(waiting):
        waiting.close()


_faust_wait_first = faust_consumer.Consumer.wait_first


def apply() -> None:
    """Install the hand-out once per process (called when the Faust app is created)."""
    global _applied
    if _applied:
        return
    faust_consumer.Consumer.wait_first = _wait_first  # type: ignore[method-assign]
    _applied = True
