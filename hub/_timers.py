"""One asyncio TimerHandle for many timeouts of the same length (attempts, direct HTTP reads).

``asyncio.timeout`` makes a Timeout, a TimerHandle with a copy of the context and a heap entry
per call, and a cancelled handle stays in the loop's heap until the timeout would have fired.
At a few thousand calls a second that is several objects per call in flight that outlive the
call, which is what drives the cyclic GC: at concurrency 200 the hub spent more CPU in
collections than in its whole resilience pipeline (bench/run.py; docs/architecture.md).

Timeouts of one length expire in the order they started, so a :class:`SharedTimer` keeps the
calls in flight in insertion order and its one handle only ever waits for the oldest of them.
Starting and finishing a call is a dict insert and delete. Used like ``asyncio.timeout``::

    entry = timer.start(task)
    try:
        return await work()
    except asyncio.CancelledError:
        if timer.expired(entry):
            raise TheTimeoutError() from None
        raise
    finally:
        timer.finish(entry)
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["SharedTimer"]


class _Entry:
    """One call in flight under a :class:`SharedTimer`."""

    __slots__ = ("cancelling", "deadline", "expired", "task")

    def __init__(self, task: asyncio.Task[Any], deadline: float) -> None:
        self.task = task
        self.deadline = deadline
        #: The task's pending cancellations before this timer (as asyncio.timeout counts).
        self.cancelling = task.cancelling()
        #: The timer cancelled the task and nobody took that cancellation back yet.
        self.expired = False


class SharedTimer:
    """Timeouts of ``seconds`` on a single TimerHandle, for the tasks of the loop in use.

    It binds to the loop of the first task it times and starts afresh when a task of another
    loop comes (a hub used under one ``asyncio.run`` after another).
    """

    __slots__ = ("_handle", "_inflight", "loop", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.loop: asyncio.AbstractEventLoop | None = None
        #: Oldest first (dicts keep insertion order); values unused.
        self._inflight: dict[_Entry, None] = {}
        self._handle: asyncio.TimerHandle | None = None

    def start(self, task: asyncio.Task[Any]) -> _Entry:
        """Cancel ``task`` in ``seconds`` unless :meth:`finish` comes first."""
        loop = task.get_loop()
        if loop is not self.loop:
            self.loop, self._inflight, self._handle = loop, {}, None
        entry = _Entry(task, loop.time() + self.seconds)
        self._inflight[entry] = None
        if self._handle is None:
            self._handle = loop.call_at(entry.deadline, self._expire)
        return entry

    def expired(self, entry: _Entry) -> bool:
        """In an ``except CancelledError``: the cancellation is this timer's and no other is
        pending, so the caller raises its timeout error instead (asyncio.timeout's rule)."""
        if not entry.expired:
            return False
        entry.expired = False
        return entry.task.uncancel() <= entry.cancelling

    def finish(self, entry: _Entry) -> None:
        """The call ended (in any way): forget it; an expiry it outran is taken back."""
        self._inflight.pop(entry, None)
        if entry.expired:  # the work swallowed the cancellation, or ended just before it
            entry.expired = False
            entry.task.uncancel()

    def _expire(self) -> None:
        """Cancel the calls whose time is up; wait again for the oldest of the rest."""
        self._handle = None
        loop = self.loop
        assert loop is not None  # scheduled by start(), which binds it
        inflight, now = self._inflight, loop.time()
        while inflight:
            entry = next(iter(inflight))
            if entry.deadline > now:
                self._handle = loop.call_at(entry.deadline, self._expire)
                return
            del inflight[entry]
            entry.expired = True
            entry.task.cancel()
