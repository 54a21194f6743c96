"""The control plane: the test-side powers over HTTP, for other processes and languages.

Served under the reserved prefix ``/_syncmap/`` (nothing of Twilio's lives there),
with the same Basic auth as the API, JSON in and out, and Twilio-shaped errors. It is
on for every emulator: it only answers authenticated requests on the emulator's own
(loopback by default) address, and a test's subprocess needs exactly these powers.

=========  ==========================  ============================================
method     path                        does
=========  ==========================  ============================================
POST       ``/_syncmap/reset``         forget all state, faults and the journal
GET        ``/_syncmap/clock``         ``{"now": "...Z", "frozen": bool}``
POST       ``/_syncmap/clock``         ``{"now": "2025-01-01T00:00:00Z"}`` or
                                       ``{"advance": 60}`` (stops the emulator's
                                       clock there), ``{"frozen": true}`` (stops
                                       it where it is), ``{"frozen": false}``
                                       (lets it run again)
GET        ``/_syncmap/faults``        the faults and how often each fired
POST       ``/_syncmap/faults``        ``{"kind": "conflict", "key": "k", ...}``: the
                                       same settings as ``sync_faults`` methods
DELETE     ``/_syncmap/faults``        remove every fault
GET        ``/_syncmap/journal``       ``{"entries": [...]}``
POST       ``/_syncmap/seed``          ``{"kind": "map", "service": "default",
                                       "unique_name": "m", "ttl": 0, "items":
                                       {"k": {...}}}``: a Map with items; ``"kind":
                                       "list"`` with ``"items": [{...}, ...]``,
                                       ``"document"`` with ``"data": {...}``,
                                       ``"stream"``; answers the resource
                                       (see :mod:`.seeding`)
=========  ==========================  ============================================

The clock it moves is the emulator's one clock (:mod:`pytest_syncmap.domain.clock`):
standalone, the server's :class:`~pytest_syncmap.domain.clock.SettableClock`; during
a test, the plugin hands it the test's ``sync_clock`` (through :attr:`ControlPlane.driver`),
so a move from another process moves the test's frozen time too, and the test's
``sync_clock``, freezegun or time-machine moves are what the control plane reports.
Fault settings go through the same :meth:`~.faults.FaultPlan.add` as ``sync_faults``
and are refused (400 / 20001) when they are posted, never later.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pytest_syncmap.domain.choices import Choices
from pytest_syncmap.domain.clock import (
    SettableClock,
    TimeControl,
    check_settable,
    parse_instant,
)
from pytest_syncmap.domain.errors import InvalidData
from pytest_syncmap.domain.model import Store
from pytest_syncmap.domain.validation import nests_deeper

from .faults import FaultPlan
from .journal import Journal
from .render import iso
from .seeding import seed
from .twilio_errors import TwilioError, from_domain

#: How deep a seed's data sits inside the control plane's JSON body at most.
_ENVELOPE_DEPTH = 2

__all__ = ["CONTROL_PREFIX", "ControlPlane"]

CONTROL_PREFIX = "/_syncmap/"

_Result = tuple[int, str, dict[str, str]]


class ControlPlane:
    """Answers ``/_syncmap/...`` requests for one emulator's state, faults and journal."""

    def __init__(
        self,
        store: Store,
        faults: FaultPlan,
        journal: Journal,
        *,
        account_sid: str,
        choices: Choices,
        reset: Callable[[], None],
    ) -> None:
        self.store = store
        self.faults = faults
        self.journal = journal
        self.account_sid = account_sid
        self.choices = choices
        self._reset = reset
        #: What gives the time control to use instead of the store's own clock (the
        #: plugin sets one that gives the test's ``sync_clock`` while a test runs).
        self.driver: Callable[[], TimeControl] | None = None
        if not isinstance(store.clock, SettableClock):
            store.clock = SettableClock(store.clock)

    @property
    def time(self) -> TimeControl:
        """What the clock requests move: the test's driver, else the store's clock."""
        if self.driver is not None:
            return self.driver()
        clock = self.store.clock
        if not isinstance(clock, SettableClock):  # replaced after this was built
            clock = self.store.clock = SettableClock(clock)
        return clock

    def handle(self, method: str, path: str, body: bytes, base: str) -> _Result:
        """Answer one control request (already authenticated)."""
        name = path[len(CONTROL_PREFIX) :].strip("/")
        routes: dict[str, dict[str, Callable[[Any, str], _Result]]] = {
            "reset": {"POST": self._post_reset},
            "clock": {"GET": self._get_clock, "POST": self._post_clock},
            "faults": {
                "GET": self._get_faults,
                "POST": self._post_faults,
                "DELETE": self._delete_faults,
            },
            "journal": {"GET": self._get_journal},
            "seed": {"POST": self._post_seed},
        }
        if name not in routes:
            raise TwilioError.not_found(path)
        handlers = routes[name]
        if method not in handlers:
            raise TwilioError.method_not_allowed(handlers)
        payload: Any = {}
        if body.strip():
            self._check_depth(name, path, body)
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):
                raise TwilioError(400, 20001, "The control plane takes a JSON body") from None
        if not isinstance(payload, dict):
            raise TwilioError(400, 20001, "The control plane takes a JSON object")
        return handlers[method](payload, base)

    def _check_depth(self, name: str, path: str, body: bytes) -> None:
        """Refuse a body nested past what a seed's data may hold, before parsing it.

        The data sits at most :data:`_ENVELOPE_DEPTH` levels inside the body (a Map
        seed's ``{"items": {key: data}}``), so a deeper body holds data deeper than the
        API takes: a seed gets the API's own 400 / 54008 on every Python version, not a
        parse failure that depends on the interpreter's recursion limit.
        """
        depth = self.choices.data_max_depth
        if not nests_deeper(body.decode("latin-1"), depth + _ENVELOPE_DEPTH):
            return
        if name == "seed":
            reason = f"Seed data nests deeper than {depth} levels"
            raise from_domain(InvalidData(reason), self.choices, path)
        raise TwilioError(400, 20001, f"The control plane takes a JSON body nested at most "
                          f"{depth + _ENVELOPE_DEPTH} levels")  # fmt: skip

    # -------------------------------------------------------------- actions
    def _post_reset(self, payload: dict[str, Any], base: str) -> _Result:
        self._reset()
        if self.driver is not None:
            self.driver().reset()  # a clock the control plane froze in a test runs again
        return _json(200, {"reset": True})

    def _clock_state(self) -> dict[str, Any]:
        time = self.time
        return {"now": iso(time.now()), "frozen": time.frozen}

    def _get_clock(self, payload: dict[str, Any], base: str) -> _Result:
        return _json(200, self._clock_state())

    def _post_clock(self, payload: dict[str, Any], base: str) -> _Result:
        unknown = set(payload) - {"now", "advance", "frozen"}
        if unknown:
            raise TwilioError.invalid(", ".join(sorted(unknown)), "unknown clock setting")
        frozen = payload.get("frozen")
        if frozen is not None and not isinstance(frozen, bool):
            raise TwilioError.invalid("frozen", "must be true or false")
        # Every setting is read before time moves: a bad one changes nothing.
        instant = step = None
        try:
            if "now" in payload:
                if not isinstance(payload["now"], str):
                    raise ValueError("now must be an ISO 8601 string")
                instant = parse_instant(payload["now"])
            if "advance" in payload:
                seconds = payload["advance"]
                if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                    raise ValueError("advance must be a number of seconds")
                step = timedelta(seconds=seconds)
            time = self.time
            if instant is not None or step is not None:
                # Where the moves end, checked before any of them is made.
                start = instant if instant is not None else time.now()
                check_settable(start + (step or timedelta(0)))
        except (TypeError, ValueError, OverflowError) as exc:
            raise TwilioError.invalid("clock", str(exc)) from None
        try:
            if frozen is False:
                time.release()
            elif frozen is True and not time.frozen:
                time.move_to(time.now())
            if instant is not None:
                time.move_to(instant)
            if step is not None:
                time.advance(step)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TwilioError.invalid("clock", str(exc)) from None
        except RuntimeError as exc:
            raise TwilioError(409, 20409, f"The clock cannot do that now: {exc}") from None
        self.store.collect()
        return _json(200, self._clock_state())

    def _get_faults(self, payload: dict[str, Any], base: str) -> _Result:
        faults = [
            {
                "kind": f.kind,
                "object_kind": f.object_kind,
                "map": f.map,
                "list": f.list,
                "document": f.document,
                "stream": f.stream,
                "key": f.key,
                "index": f.index,
                "identity": f.identity,
                "times": f.times,
                "fired": f.fired,
                "description": f.describe(),
            }
            for f in self.faults.faults
        ]
        return _json(200, {"faults": faults})

    def _post_faults(self, payload: dict[str, Any], base: str) -> _Result:
        settings = dict(payload)
        kind = settings.pop("kind", None)
        if not isinstance(kind, str):
            raise TwilioError.missing("kind")
        if settings.pop("when", None) is not None:
            raise TwilioError.invalid("when", "a predicate cannot travel as JSON")
        # A fault added from another process is not this test's to expect.
        settings.setdefault("expect_fired", False)
        try:
            # The same checks as sync_faults and the marker: a bad setting is refused
            # now, not answered with a 500 on every request it matches.
            fault = self.faults.add(kind, **settings)
        except (TypeError, ValueError) as exc:
            raise TwilioError(400, 20001, f"Invalid fault: {exc}") from None
        return _json(201, {"kind": fault.kind, "description": fault.describe()})

    def _delete_faults(self, payload: dict[str, Any], base: str) -> _Result:
        self.faults.clear()
        return 204, "", {}

    def _get_journal(self, payload: dict[str, Any], base: str) -> _Result:
        return _json(200, {"entries": [e.as_dict() for e in self.journal.entries]})

    def _post_seed(self, payload: dict[str, Any], base: str) -> _Result:
        return seed(self.store, self.choices, payload, base, self.account_sid)


def _json(status: int, value: Any) -> _Result:
    return status, json.dumps(value, default=str), {}
