"""Fault injection in Twilio's vocabulary.

A :class:`Fault` says *what goes wrong* (a kind from :data:`KINDS`) and *when*: which
requests it matches (the words of :mod:`.vocabulary`: operation, method, kind of
object, one Map, List, Document or Stream, key, index, identity; or any predicate),
how many matching requests pass first (``after``), how many times it fires
(``times``, once by default, ``None`` for every time) and, optionally, with what
seeded probability. The :class:`FaultPlan` picks the first fault that matches a
request; :mod:`.injection` carries it out. Faults live in the per-test state, so they
never reach the next test.

Kinds (what each answers, per kind of object, is in :mod:`.injection`):

* ``conflict`` — the next conditional write (If-Match: Map and List item updates and
  deletes, Document updates and deletes) answers 412 with the revision-mismatch code
  of what it writes (54205 Map item, 54103 Document, 54155 List item), exactly as a
  stale If-Match would.
* ``race`` — a genuine race: just before the client's conditional write runs, another
  writer updates the item (or Document), so the client's If-Match really is stale and
  the 412 that the model returns carries the real new revision.
* ``not_found`` — the 404 of whatever the request names, with its kind's code: a
  permission 54354, a Map item 54201, a List item 54151, else the object (by SID:
  the Map's per ``choices``, 54100 Document, 54150 List, 54250 Stream; by unique
  name 54300), else the Service.
* ``already_exists`` — 409 on a create that can meet a name: 54208 for a Map item's
  key, 54301 for an object's unique name (only creates that send ``UniqueName``).
* ``rate_limited`` (429 / 54009 with ``Retry-After``), ``server_error`` (500 / 20500
  or 503 / 20503, Twilio bodies), on any route.
* ``delay`` — a fixed delay or a seeded uniform/log-normal one, then the normal answer.
* transport: ``reset`` (TCP reset), ``empty_response`` (connection closed with no
  answer), ``truncated`` (headers promise more body than is sent), ``malformed``
  (200 with a body that is not JSON), on any route.

A kind that cannot apply to the operations named (``conflict(operation="create")``)
is refused when it is given. With no operation named, ``conflict`` and ``race`` wait
for any conditional write and ``already_exists`` for any create that can meet a name,
of the kinds the words put in question.

One door, three ways in: ``sync_faults.<kind>(...)``, ``@pytest.mark.sync_fault(kind,
...)`` and ``POST /_syncmap/faults`` all build a :class:`Fault` through
:meth:`FaultPlan.add`, which checks every setting (types, ranges, the words of
:mod:`.vocabulary`) before the fault exists. A bad setting is refused when it is
given (``ValueError``/``TypeError``; a Twilio 400 from the control plane), never
later as a 500 on the request it matches. Every kind fires once by default.

A ``when=`` predicate is the test's own code: it runs with no lock of the emulator
held (it may read ``sync_faults`` or the journal), and an exception it raises fails
the test with its traceback while the client gets a Twilio 500.
"""

from __future__ import annotations

import math
import numbers
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pytest_syncmap.domain.choices import DEFAULT_CHOICES, Choices
from pytest_syncmap.domain.errors import SyncError
from pytest_syncmap.domain.validation import serialize_data

from .exchange import OBJECT_KINDS
from .vocabulary import OBJECT_WORDS, OPERATIONS, WORDS, check_addressable, select

if TYPE_CHECKING:
    from .exchange import Exchange

__all__ = ["KINDS", "MAX_DELAY", "TRANSPORT_KINDS", "Fault", "FaultPlan", "SyncFaults"]

TRANSPORT_KINDS = ("reset", "empty_response", "truncated", "malformed")
KINDS = (
    "conflict",
    "race",
    "not_found",
    "already_exists",
    "rate_limited",
    "server_error",
    "delay",
    *TRANSPORT_KINDS,
)

#: The longest a ``delay`` waits, in seconds (a day): a longer fixed delay, or a range
#: past it, is refused when given; a log-normal draw past it waits this long.
MAX_DELAY = 86_400.0
#: Conditional writes: the operations that read If-Match (``conflict`` and ``race``).
CONDITIONAL_OPERATIONS = frozenset(info.id for info in OPERATIONS.values() if info.if_match)
#: Creates that can meet an existing name: a Map item's key, an object's unique name.
_NAMED_CREATES = frozenset(
    info.id
    for info in OPERATIONS.values()
    if info.method == "POST"
    and info.collection
    and info.kind not in (None, "service")
    and info.resource in (info.kind, "map_item")
)
#: The operations each kind can be carried out on (``None``: any).
_APPLIES_TO: dict[str, frozenset[str] | None] = {
    "conflict": CONDITIONAL_OPERATIONS,
    "race": CONDITIONAL_OPERATIONS,
    "already_exists": _NAMED_CREATES,
}
#: Kind-specific settings each kind accepts (beyond the matching ones).
_OPTIONS: dict[str, tuple[str, ...]] = {
    "race": ("data",),
    "rate_limited": ("retry_after",),
    "server_error": ("status",),
    "delay": ("seconds", "uniform", "lognormal"),
    **dict.fromkeys(TRANSPORT_KINDS, ("processed",)),
}
#: Kind-specific settings a fault gets when none is given, whichever door it came by.
_DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "rate_limited": {"retry_after": 1},
    "server_error": {"status": 500},
}
#: Settings every kind takes: which requests it matches, how often it fires. ``kind``
#: (the vocabulary's word for the kind of object) is stored as ``object_kind``.
_COMMON = frozenset(
    {"operation", "method", "object_kind", *OBJECT_WORDS, "key", "index", "identity", "when",
     "times", "after", "probability", "seed", "expect_fired"}
)  # fmt: skip


@dataclass(eq=False)
class Fault:
    """One scheduled failure; see the module docstring. Created by ``sync_faults`` methods.

    ``kind`` is the fault's kind (``conflict``...); the kind of object it matches is
    ``object_kind`` (the vocabulary's ``kind=`` word). Every setting is checked here,
    so a fault that exists can always be carried out.
    """

    kind: str
    #: The OpenAPI ids it matches (short names resolved), ``None`` for the kind's default.
    operation: tuple[str, ...] | None = None
    method: str | None = None
    #: The kind(s) of object it matches (``kind=``).
    object_kind: str | tuple[str, ...] | None = None
    #: The object it matches, by kind: a SID or unique name (a handle is stored as its SID).
    map: str | None = None
    document: str | None = None
    stream: str | None = None
    key: str | None = None
    index: int | None = None
    identity: str | None = None
    when: Callable[[Exchange], bool] | None = None
    times: int | None = 1
    after: int = 0
    probability: float | None = None
    seed: int | str | None = None
    #: Whether an unfired fault fails the test (set False to opt out).
    expect_fired: bool = True
    #: Kind-specific settings: status, retry_after, seconds, data, ...
    options: dict[str, Any] = field(default_factory=dict)
    #: Matching requests seen so far, and how many times the fault fired.
    seen: int = 0
    fired: int = 0
    #: Every name of the object it matches (a handle's SID and unique name).
    object_refs: frozenset[str] = frozenset()
    #: The List it matches (last: the name shadows the builtin in this class body).
    list: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose from {', '.join(KINDS)}")
        words = {name: getattr(self, name) for name in WORDS if name != "kind"}
        words["kind"] = self.object_kind
        selector = select(words)
        operations = selector.operations
        applies = _APPLIES_TO.get(self.kind)
        if applies is not None and operations is not None:
            operations = frozenset(op for op in operations if op in applies)
            if not operations:
                raise ValueError(
                    f"a {self.kind!r} fault applies to {', '.join(sorted(applies))}; "
                    f"operation={self.operation!r} names none of them"
                )
        if operations is None and applies is not None:
            operations = (
                applies
                if selector.kinds is None
                else frozenset(op for op in applies if OPERATIONS[op].kind in selector.kinds)
            )
            if not operations:
                raise ValueError(
                    f"a {self.kind!r} fault applies to {', '.join(sorted(applies))}; "
                    "the words given name none of them"
                )
        else:
            self.operation = None if operations is None else _in_order(operations)
        if operations is not None and applies is not None:
            check_addressable(
                operations, self.key, self.index, self.identity, f"a {self.kind!r} fault"
            )
        self._selector = replace(selector, operations=operations)
        self.object_refs = selector.refs
        for word in OBJECT_WORDS:
            value = getattr(self, word)
            if value is not None and not isinstance(value, str):
                setattr(self, word, getattr(value, "sid", None))
        if self.when is not None and not callable(self.when):
            raise TypeError(f"when= takes a predicate (a callable), not {self.when!r}")
        if self.times is not None:
            _check_int("times", self.times)
            if self.times < 1:
                raise ValueError("times must be at least 1 (or None for every matching request)")
        _check_int("after", self.after)
        if self.after < 0:
            raise ValueError("after cannot be negative")
        if self.probability is not None:
            _check_number("probability", self.probability)
            if not 0 <= self.probability <= 1:
                raise ValueError("probability must be between 0 and 1")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int | str)
        ):
            raise TypeError(f"seed must be an integer or a string, not {self.seed!r}")
        if not isinstance(self.expect_fired, bool):
            raise TypeError(f"expect_fired must be True or False, not {self.expect_fired!r}")
        _check_options(self.kind, self.options)
        self._random = random.Random(self.seed)

    @property
    def exhausted(self) -> bool:
        """Whether it has fired as many times as it may."""
        return self.times is not None and self.fired >= self.times

    def _matches(self, exchange: Exchange) -> bool:
        """Whether ``exchange`` is a request this fault is about (runs ``when``)."""
        if not self._selector.matches(exchange):
            return False
        if self.kind in ("conflict", "race") and exchange.if_match is None:
            return False
        if (
            self.kind == "already_exists"
            and exchange.key is None
            and "UniqueName" not in exchange.form
        ):
            return False  # an object created without a name cannot meet another one
        return self.when is None or bool(self.when(exchange))

    def describe(self) -> str:
        """A one-line description for reports."""
        parts = [self.kind]
        for name in ("operation", "method", "object_kind", *OBJECT_WORDS, "key", "index",
                     "identity"):  # fmt: skip
            value = getattr(self, name)
            if value is not None:
                word = "kind" if name == "object_kind" else name
                parts.append(f"{word}={'/'.join(value) if isinstance(value, tuple) else value}")
        if self.when is not None:
            parts.append(f"when={getattr(self.when, '__name__', 'predicate')}")
        if self.after:
            parts.append(f"after={self.after}")
        times = "always" if self.times is None else str(self.times)
        parts.append(f"fired {self.fired}/{times}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<Fault {self.describe()}>"


# ------------------------------------------------------------------ checks
def _in_order(operations: frozenset[str]) -> tuple[str, ...]:
    """Operation ids by kind (Services, Maps, Lists, Documents, Streams), then as routed."""
    table = list(OPERATIONS)
    return tuple(
        sorted(
            operations,
            key=lambda op: (OBJECT_KINDS.index(OPERATIONS[op].kind or "service"), table.index(op)),
        )
    )


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {value!r}")


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return number


def _check_pair(name: str, value: object) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise TypeError(f"{name} must be a pair of numbers, not {value!r}")
    return _check_number(name, value[0]), _check_number(name, value[1])


def _check_options(kind: str, options: Mapping[str, Any]) -> None:
    """Refuse a kind-specific setting the fault could not carry out."""
    allowed = _OPTIONS.get(kind, ())
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"unknown setting(s) for a {kind!r} fault: {', '.join(unknown)}"
            + (f"; it takes {', '.join(allowed)}" if allowed else "")
        )
    if "status" in options:
        _check_int("status", options["status"])
        if not 500 <= options["status"] <= 599:
            raise ValueError(f"server_error status must be a 5xx, not {options['status']}")
    if options.get("retry_after") is not None:
        # An integer of seconds, as the header carries it; nothing else reaches the wire.
        _check_int("retry_after", options["retry_after"])
        if options["retry_after"] < 0:
            raise ValueError("retry_after cannot be negative")
    if "data" in options and not isinstance(options["data"], Mapping):
        raise TypeError(f"race data must be a JSON object (a dict), not {options['data']!r}")
    if "processed" in options and not isinstance(options["processed"], bool):
        raise TypeError(f"processed must be True or False, not {options['processed']!r}")
    given = [name for name in ("seconds", "uniform", "lognormal") if name in options]
    if len(given) > 1:
        raise TypeError(f"a delay takes one of seconds, uniform or lognormal, got {given}")
    if "seconds" in options:
        seconds = _check_number("seconds", options["seconds"])
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        if seconds > MAX_DELAY:
            raise ValueError(f"a delay cannot be longer than a day ({MAX_DELAY:.0f} s)")
    if "uniform" in options:
        low, high = _check_pair("uniform", options["uniform"])
        if not 0 <= low <= high <= MAX_DELAY:
            raise ValueError(
                f"uniform=(low, high) needs 0 <= low <= high <= {MAX_DELAY:.0f} (a day), "
                f"got {options['uniform']}"
            )
    if "lognormal" in options:
        median, sigma = _check_pair("lognormal", options["lognormal"])
        if not 0 < median <= MAX_DELAY or sigma < 0:
            raise ValueError(
                f"lognormal=(median, sigma) needs 0 < median <= {MAX_DELAY:.0f} (a day) and "
                f"sigma >= 0, got {options['lognormal']} (draws longer than a day wait a day)"
            )


class FaultPlan:
    """The faults of the current test, in the order they were added."""

    def __init__(self, choices: Choices = DEFAULT_CHOICES) -> None:
        #: The fidelity choices a ``race`` fault's data is checked against.
        self.choices = choices
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        #: Whether faults that never fired fail the test.
        self.strict = True

    def add(self, kind: str, /, **settings: Any) -> Fault:
        """Schedule a fault of ``kind``; see :class:`Fault` for the settings.

        The one place every door (``sync_faults``, the marker, the control plane)
        goes through: the settings are checked here, defaults filled in here. The
        vocabulary's ``kind=`` (the kind of object) is taken as ``object_kind``.
        """
        if "kind" in settings:
            if "object_kind" in settings:
                raise TypeError("give the kind of object once: kind= or object_kind=")
            settings["object_kind"] = settings.pop("kind")
        options = {k: v for k, v in settings.items() if k not in _COMMON}
        common = {k: v for k, v in settings.items() if k in _COMMON}
        if isinstance(kind, str) and kind in KINDS:
            options = {**_DEFAULT_OPTIONS.get(kind, {}), **options}
        fault = Fault(kind, options=options, **common)
        if fault.options.get("data") is not None:
            self._check_race_data(fault.options["data"])
        with self._lock:
            self._faults.append(fault)
        return fault

    def _check_race_data(self, data: Any) -> None:
        """A race writes its data as the other writer: data the API would refuse (not
        JSON, too large, too deep) could never be written, so it is refused now."""
        choices = self.choices
        try:
            serialize_data(data, choices.data_max_bytes, "race", max_depth=choices.data_max_depth)
        except SyncError as exc:
            raise ValueError(str(exc)) from None

    def pick(self, exchange: Exchange) -> Fault | None:
        """The fault that fires for this request, if any (and count it as fired).

        Matching runs with no lock held: a ``when=`` predicate is user code that may
        read this plan (``len(sync_faults.faults)``) or take its time. Only the count
        of the fault that matched is updated under the lock.
        """
        if not self._faults:
            return None
        with self._lock:
            candidates = [f for f in self._faults if not f.exhausted]
        for fault in candidates:
            if not fault._matches(exchange):
                continue
            with self._lock:
                if fault.exhausted or fault not in self._faults:
                    continue  # fired out meanwhile, or cleared by a reset
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                if fault.probability is not None and fault._random.random() >= fault.probability:
                    continue
                fault.fired += 1
                return fault
        return None

    def wants_object(self) -> bool:
        """Whether a fault matches by object (so a request's object must be resolved
        first: a request may name it by SID and the fault by unique name)."""
        return bool(self._faults) and any(f.object_refs for f in self.faults)

    @property
    def faults(self) -> list[Fault]:
        """Every fault of the test, fired or not."""
        with self._lock:
            return list(self._faults)

    def unfired(self) -> list[Fault]:
        """Faults that were expected to fire and never did."""
        return [f for f in self.faults if f.expect_fired and f.fired == 0]

    def clear(self) -> None:
        """Forget every fault."""
        with self._lock:
            self._faults.clear()
            self.strict = True

    def __len__(self) -> int:
        return len(self._faults)


def delay_seconds(fault: Fault) -> float:
    """How long a ``delay`` fault waits this time (fixed, uniform or log-normal, seeded)."""
    options: Mapping[str, Any] = fault.options
    rng = fault._random
    if "seconds" in options:
        return float(options["seconds"])
    if "uniform" in options:
        low, high = options["uniform"]
        return rng.uniform(float(low), float(high))
    if "lognormal" in options:
        median, sigma = options["lognormal"]
        # lognormvariate() is exp(normalvariate()); a draw past the bound would overflow.
        exponent = rng.normalvariate(math.log(float(median)), float(sigma))
        return MAX_DELAY if exponent >= math.log(MAX_DELAY) else math.exp(exponent)
    return 0.1


class SyncFaults:
    """The ``sync_faults`` fixture: schedule faults by name for the current test.

    Every method takes the matching words of :mod:`.vocabulary`: ``operation``
    (``"create"``, ``"fetch"``, ``"update"``, ``"delete"``, ``"list"``, ``"publish"``
    or an OpenAPI operation id), ``method`` (any case), ``kind`` (``"map"``,
    ``"list"``, ``"document"``, ``"stream"``, ``"service"``), ``map``, ``list``,
    ``document``, ``stream`` (a SID, a unique name or a handle), ``key``, ``index``,
    ``identity``; and ``when`` (a predicate on the request's
    :class:`~.exchange.Exchange`), ``times`` (default 1; ``None`` = every time),
    ``after`` (let N matching requests through first), ``probability`` and ``seed``,
    and ``expect_fired=False`` to allow it never to fire. Each returns the
    :class:`Fault`, whose ``fired`` count a test can check. Every kind fires once by
    default, ``delay`` included.
    """

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan

    def add(self, kind: str, /, **settings: Any) -> Fault:
        """Schedule a fault by kind name (what the ``sync_fault`` marker calls)."""
        return self.plan.add(kind, **settings)

    def conflict(self, key: str | None = None, **settings: Any) -> Fault:
        """The next conditional write (If-Match) of ``key`` (or of what the words name: a
        List item, a Document) answers 412, revision mismatch."""
        return self.plan.add("conflict", key=key, **settings)

    def race(self, key: str | None = None, *, data: Any = None, **settings: Any) -> Fault:
        """Another writer updates ``key`` (or the List item, the Document the words name)
        to ``data``, or the same data, just before the client's conditional write, so
        its If-Match is really stale."""
        if data is not None:
            settings["data"] = data
        return self.plan.add("race", key=key, **settings)

    def not_found(self, key: str | None = None, **settings: Any) -> Fault:
        """404 with the code of what the request names: 54201 Map item, 54151 List item,
        54354 permission, the object's own (54100, 54150, 54250, 54300...) otherwise."""
        return self.plan.add("not_found", key=key, **settings)

    def already_exists(self, key: str | None = None, **settings: Any) -> Fault:
        """A create answers 409: 54208 for a Map item, 54301 for a unique name."""
        return self.plan.add("already_exists", key=key, **settings)

    def rate_limited(self, *, retry_after: int | None = 1, **settings: Any) -> Fault:
        """429 / 54009, with ``Retry-After: retry_after`` (``None`` to omit the header)."""
        return self.plan.add("rate_limited", retry_after=retry_after, **settings)

    def server_error(self, *, status: int = 500, **settings: Any) -> Fault:
        """A 5xx with a Twilio body (500 / 20500, 503 / 20503, ...)."""
        return self.plan.add("server_error", status=status, **settings)

    def delay(
        self,
        seconds: float | None = None,
        *,
        uniform: tuple[float, float] | None = None,
        lognormal: tuple[float, float] | None = None,
        **settings: Any,
    ) -> Fault:
        """Answer late: ``seconds`` (default 0.1), or seeded ``uniform=(low, high)`` or
        ``lognormal=(median, sigma)`` seconds. Fires once, like every kind; pass
        ``times=None`` to slow down every matching request."""
        if seconds is not None:
            settings["seconds"] = seconds
        if uniform is not None:
            settings["uniform"] = uniform
        if lognormal is not None:
            settings["lognormal"] = lognormal
        return self.plan.add("delay", **settings)

    def reset(self, **settings: Any) -> Fault:
        """The connection is reset (TCP RST) instead of answered."""
        return self.plan.add("reset", **settings)

    def empty_response(self, **settings: Any) -> Fault:
        """The connection is closed without any answer."""
        return self.plan.add("empty_response", **settings)

    def truncated(self, **settings: Any) -> Fault:
        """The answer's headers promise more body than is sent before the close."""
        return self.plan.add("truncated", **settings)

    def malformed(self, **settings: Any) -> Fault:
        """A 200 whose body is not valid JSON."""
        return self.plan.add("malformed", **settings)

    @property
    def faults(self) -> list[Fault]:
        """Every fault of this test."""
        return self.plan.faults

    def unfired(self) -> list[Fault]:
        """Faults expected to fire that have not."""
        return self.plan.unfired()

    def allow_unfired(self) -> None:
        """Do not fail the test for faults that never fired."""
        self.plan.strict = False

    def clear(self) -> None:
        """Remove every fault."""
        self.plan.clear()
