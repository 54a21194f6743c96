"""A test clock that moves the emulator's "now" without sleeping.

The emulator reads time through :class:`~pytest_syncmap.clock.WallClock`, which follows
whatever patches the process's clock, so the test clock only has to move the process's
frozen time. :class:`SyncClock` does that through the library that is already in charge
(ANCHORS.md, "Clock interop"):

* if the test already froze time with **freezegun** (``freeze_time`` decorator, context
  manager, or pytest-freezer), it drives that freezer;
* else if **time-machine** is travelling, it shifts that traveller (never starting
  freezegun beside it: time-machine refuses to run while freezegun is active);
* else it starts its own freezegun freezer (``tick=False``, ``real_asyncio=True`` so an
  asyncio loop keeps real monotonic time) and stops it at the end of the test.

After every move it asks the store to collect what has expired, so a test sees expiry
at once, and a later move backwards does not bring collected objects back.

It is the emulator's time driver during a test: the plugin makes one per test and
hands it to the control plane, so ``POST /_syncmap/clock`` from another process moves
the same (process) time as ``sync_clock.advance``, and each sees the other's moves
(:class:`~pytest_syncmap.domain.clock.TimeControl`). Moves are serialised by a lock,
since the control plane calls from the server's thread.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from pytest_syncmap.domain.clock import check_settable, parse_instant

__all__ = ["REAL_TIME_MODULES", "SyncClock", "parse_instant"]

#: Modules that keep real time under this clock's freezer: pytest's own timing
#: (``--durations``) and the timeouts of waits (a subprocess, a pool, a socket
#: server, urllib3). Time may move while the test thread waits (the control plane
#: moves it from another thread); a timeout measured on frozen time would then fire
#: at once, or never.
REAL_TIME_MODULES = (
    "_pytest.timing",
    "subprocess",
    "multiprocessing",
    "concurrent.futures",
    "socketserver",
    "selectors",
    "urllib3",
)


def _active_freezegun() -> Any:
    """The innermost active freezegun factory, if freezegun is imported and active."""
    api = sys.modules.get("freezegun.api")
    factories = getattr(api, "freeze_factories", None)
    return factories[-1] if factories else None


def _active_time_machine() -> Any:
    """The innermost active time-machine traveller, if time-machine is travelling."""
    module = sys.modules.get("time_machine")
    if module is None:
        return None
    stack = getattr(module, "traveller_stack", None) or getattr(module, "coordinates_stack", None)
    return stack[-1] if stack else None


class SyncClock:
    """Frozen time for one test, moved on demand; see the module docstring.

    The library to drive is looked up at every move, innermost first, so a
    ``@freeze_time`` decorator or ``freeze_time`` block that starts after the fixture is
    the one that moves. time-machine refuses to start while freezegun is active, so a
    test that travels with time-machine must say so up front (its decorator, fixture or
    marker, which ``sync_clock`` detects and then freezes nothing itself); a
    ``with time_machine.travel()`` block opened later in the body is refused.
    """

    def __init__(self, on_move: Callable[[], None] | None = None) -> None:
        self._on_move = on_move
        self._freezer: Any = None
        #: What ``self._freezer.start()`` pushed on freezegun's stack.
        self._factory: Any = None
        self._started = False
        self._lock = threading.RLock()
        #: Whether the freezer was started by a move (the control plane's, typically)
        #: rather than by :meth:`start`.
        self._on_demand = False

    # ------------------------------------------------------------ lifecycle
    def start(self, at: datetime | str | None = None, *, eager: bool = True) -> SyncClock:
        """Take control of time, at ``at`` (default: now, whole seconds).

        If freezegun or time-machine is already active, it is driven; otherwise, with
        ``eager`` (the default), freezegun is started now. With ``eager=False`` nothing
        is started until the first move, so a time-machine travel that the test starts
        itself is not refused because freezegun is active.
        """
        with self._lock:
            self._started = True
            if self._target() is not None:
                if at is not None:
                    self.move_to(at)
            elif eager or at is not None:
                self._freeze(at)
        return self

    def _freeze(self, at: datetime | str | None) -> None:
        import freezegun

        start = (
            check_settable(parse_instant(at))
            if at is not None
            else datetime.now(timezone.utc).replace(microsecond=0)
        )
        self._freezer = freezegun.freeze_time(
            start, tick=False, real_asyncio=True, ignore=list(REAL_TIME_MODULES)
        )
        self._factory = self._freezer.start()

    def stop(self) -> None:
        """Give time back: stop the freezer this clock started (never someone else's)."""
        with self._lock:
            self._unfreeze()
            self._started = False

    def _unfreeze(self) -> None:
        if self._freezer is not None:
            self._freezer.stop()
        self._freezer = None
        self._factory = None
        self._on_demand = False

    def _holds_time(self) -> bool:
        """Whether the innermost freezer is the one this clock started (not one the test
        started inside it: stopping ours under it would break freezegun's stack)."""
        return self._factory is not None and _active_freezegun() is self._factory

    def reset(self) -> None:
        """Undo a freeze that a move started (the control plane's reset); a freeze the
        test asked for (``sync_clock``, its marker) stays."""
        with self._lock:
            if self._on_demand and self._holds_time():
                self._unfreeze()

    def release(self) -> None:
        """Let time run again (the control plane's ``{"frozen": false}``).

        Stops the freezer a move started (a later move freezes again). Time frozen by
        the test itself (its own freezegun or time-machine, or ``sync_clock``, which the
        test asked for) is not the control plane's to release: that raises
        ``RuntimeError`` and changes nothing.
        """
        with self._lock:
            if self._target() is None:
                return  # nothing holds time
            if not self._holds_time():
                raise RuntimeError(
                    f"time is held by the test's own {self.driver}, which only the test can stop"
                )
            if not self._on_demand:
                raise RuntimeError(
                    "time is held by the test's sync_clock, which only the test can stop"
                )
            self._unfreeze()

    @property
    def frozen(self) -> bool:
        """Whether freezegun or time-machine holds the process's time."""
        return self._target() is not None

    def __enter__(self) -> SyncClock:
        return self if self._started else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def _target() -> Any:
        return _active_freezegun() or _active_time_machine()

    @property
    def driver(self) -> str:
        """What a move would drive now: ``freezegun``, ``time-machine`` or ``none``."""
        if _active_freezegun() is not None:
            return "freezegun"
        return "time-machine" if _active_time_machine() is not None else "none"

    # ---------------------------------------------------------------- reads
    def now(self) -> datetime:
        """The current (frozen) instant as an aware UTC datetime."""
        return datetime.now(timezone.utc)

    # ---------------------------------------------------------------- moves
    def advance(
        self,
        delta: timedelta | float | None = None,
        *,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> datetime:
        """Move time forward (a negative amount moves it back); returns the new now.

        ``clock.advance(60)``, ``clock.advance(timedelta(minutes=1))`` and
        ``clock.advance(seconds=60)`` all move one minute.
        """
        step = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        if isinstance(delta, timedelta):
            step += delta
        elif delta is not None:
            step += timedelta(seconds=delta)
        with self._lock:
            try:
                check_settable(self.now() + step)
            except OverflowError:
                raise ValueError(f"the clock cannot move {step} from {self.now()}") from None
            target = self._require_target()
            if _active_freezegun() is target:
                # Not factory.tick(): a ticking freezer's tick() moves from where it was
                # frozen, losing the time that has ticked by since.
                target.move_to(self.now() + step)
            else:
                target.shift(step)
        return self._moved()

    def move_to(self, instant: datetime | str) -> datetime:
        """Jump to ``instant`` (aware, naive = UTC, or ISO 8601); returns the new now."""
        destination = check_settable(parse_instant(instant))
        with self._lock:
            self._require_target().move_to(destination)
        return self._moved()

    def _moved(self) -> datetime:
        if self._on_move is not None:
            self._on_move()
        return self.now()

    def _require_target(self) -> Any:
        if not self._started:
            raise RuntimeError("SyncClock is not started; use the sync_clock fixture")
        # Called under the lock.
        target = self._target()
        if target is None:
            self._freeze(None)
            self._on_demand = True
            target = self._target()
        return target

    def __repr__(self) -> str:
        return f"<SyncClock {self.now():%Y-%m-%dT%H:%M:%SZ} via {self.driver}>"
