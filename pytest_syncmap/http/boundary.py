"""The test boundary, server side: test generations and the gate every request passes.

The emulator's state belongs to one test at a time. Each test is a *generation*: the
plugin moves to a new one when a test begins (:meth:`Gate.advance`) and again when it
ends, so the time between two tests is a generation of its own. A request belongs to
the generation its client names in the :data:`GENERATION_HEADER` (the plugin's wiring
of twilio-python sends it), or, without the header, to the generation current when it
arrived. It is carried out only while that generation is still current:

* when it is about to read or change anything (faults, journal, state): after its body
  is read and its credentials checked, and before a canned answer is picked;
* again after an injected delay (the gate is left while the request sleeps);
* again just before its handler changes state.

A refused request gets a Twilio 403 (:func:`late_error`), is not journaled, and is kept
in a small bounded list (:attr:`Gate.late`) with the test that sent it. Moving to a new
generation waits (bounded) for the requests inside the gate (between entering and
answering, not while reading a body or sleeping in a delay), so nothing of the old test
runs when the state is reset for the next one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .twilio_errors import TwilioError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = [
    "GENERATION_HEADER",
    "GENERATION_KEY",
    "Gate",
    "LateRequest",
    "OutlivedTest",
]

#: The request header naming the test generation a request belongs to.
GENERATION_HEADER = "X-Syncmap-Generation"
_HEADER_KEY = "HTTP_" + GENERATION_HEADER.upper().replace("-", "_")
#: WSGI environ keys: the request's generation, and whether it is inside the gate now.
GENERATION_KEY = "pytest_syncmap.generation"
_INSIDE_KEY = "pytest_syncmap.inside"
#: Late requests kept for inspection; older ones are counted, not kept.
LATE_KEPT = 100
#: Names of past generations kept for messages.
_LABELS_KEPT = 512


@dataclass(frozen=True, slots=True)
class LateRequest:
    """A request that reached the emulator after the test that sent it had ended."""

    method: str
    path: str
    #: The generation the request belonged to, and its test (``None``: no test).
    generation: int
    test: str | None
    #: The test that was running when it was refused (``None``: between tests).
    during: str | None
    #: ``time.monotonic()`` when it was refused.
    at: float


class OutlivedTest(TwilioError):
    """Raised inside the gate when a request's generation stopped being current."""


class Gate:
    """Test generations and the requests inside them (thread-safe)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._inside = 0
        self._generation = 0
        self._label: str | None = None
        self._labels: OrderedDict[int, str | None] = OrderedDict({0: None})
        #: The last :data:`LATE_KEPT` refused requests, oldest first.
        self.late: deque[LateRequest] = deque(maxlen=LATE_KEPT)
        #: How many requests each test sent late, over the gate's life (``None``: no test).
        self.late_counts: dict[str | None, int] = {}

    # ------------------------------------------------------------- generations
    @property
    def generation(self) -> int:
        """The current generation."""
        return self._generation

    @property
    def label(self) -> str | None:
        """The test the current generation belongs to (``None`` between tests)."""
        return self._label

    def label_of(self, generation: int) -> str | None:
        """The test of a past or current generation, when still known."""
        return self._labels.get(generation)

    def advance(self, label: str | None, wait: float = 0.0) -> tuple[int, int]:
        """Start a new generation for ``label``; wait up to ``wait`` s for the old one.

        Requests of the old generation that have not reached their handler yet are
        refused from now on; the ones inside a handler are waited for. Returns the new
        generation and how many requests were still inside when the wait gave up.
        """
        with self._cond:
            self._generation += 1
            self._label = label
            self._labels[self._generation] = label
            while len(self._labels) > _LABELS_KEPT:
                self._labels.popitem(last=False)
            if wait > 0 and self._inside:
                self._cond.wait_for(lambda: self._inside == 0, timeout=wait)
            return self._generation, self._inside

    # ---------------------------------------------------------------- requests
    def claim(self, environ: WSGIEnvironment) -> int:
        """The request's generation: its header's, or the current one on arrival.

        Reads (and removes) the header, so nothing downstream sees it; idempotent.
        """
        generation = environ.get(GENERATION_KEY)
        if generation is None:
            raw = environ.pop(_HEADER_KEY, None)
            current = self._generation
            generation = current if raw is None else _parse(raw, current)
            environ[GENERATION_KEY] = generation
        return int(generation)

    def enter(self, environ: WSGIEnvironment) -> bool:
        """Let a claimed request touch state if its generation is current (re-entrant).

        ``False``: its test has ended. Every request let in must be released.
        """
        if environ.get(_INSIDE_KEY):
            return True
        generation = self.claim(environ)
        with self._cond:
            if generation != self._generation:
                return False
            self._inside += 1
        environ[_INSIDE_KEY] = True
        return True

    @staticmethod
    def holds(environ: WSGIEnvironment) -> bool:
        """Whether the request is inside the gate now (let in, not released)."""
        return bool(environ.get(_INSIDE_KEY))

    def release(self, environ: WSGIEnvironment) -> None:
        """The request left the gate (idempotent)."""
        if environ.pop(_INSIDE_KEY, False):
            with self._cond:
                self._inside -= 1
                if self._inside == 0:
                    self._cond.notify_all()

    def pause(self, environ: WSGIEnvironment, seconds: float) -> bool:
        """Sleep outside the gate; ``False`` when the request's test ended meanwhile."""
        self.release(environ)
        time.sleep(seconds)
        with self._cond:
            if environ.get(GENERATION_KEY) != self._generation:
                return False
            self._inside += 1
        environ[_INSIDE_KEY] = True
        return True

    def current(self, environ: WSGIEnvironment) -> bool:
        """Whether the request's generation is still the current one."""
        return bool(environ.get(GENERATION_KEY, self._generation) == self._generation)

    # -------------------------------------------------------------- late ones
    def refuse(self, method: str, path: str, environ: WSGIEnvironment) -> OutlivedTest:
        """Record a late request; the error it is answered with."""
        generation = int(environ.get(GENERATION_KEY, -1))
        sender = self._labels.get(generation)
        with self._cond:
            during = self._label
            self.late.append(
                LateRequest(method, path, generation, sender, during, time.monotonic())
            )
            self.late_counts[sender] = self.late_counts.get(sender, 0) + 1
        return late_error(generation, sender, during, known=generation in self._labels)


def late_error(
    generation: int, sender: str | None, during: str | None, known: bool
) -> OutlivedTest:
    """The 403 a late request gets: which test sent it, and that nothing was done.

    403 / 20403 is a real Twilio answer that no client or usual retry policy retries
    (they retry 429 and 5xx, some 409/412), and it says the request was not carried out.
    """
    if sender is not None:
        who = f"test {sender!r}, which has ended"
    elif known:
        who = "code running between two tests"
    else:
        who = f"a test that has ended (test generation {generation})"
    now = f"the emulator now serves test {during!r}" if during else "no test is running now"
    return OutlivedTest(
        403,
        20403,
        f"This request outlived its test: it was sent by {who}, and {now}. "
        "pytest-syncmap refused it without reading or changing anything. A thread, task, "
        "subprocess or delayed request of that test kept running after the test returned; "
        "join or cancel it before the test ends.",
    )


def _parse(raw: str, current: int) -> int:
    try:
        return int(raw)
    except ValueError:
        return current
