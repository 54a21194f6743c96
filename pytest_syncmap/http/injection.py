"""Carrying out a fault that fired, on whatever kind of object the request is about.

The answer a fault gives follows from what the request addressed (its
:class:`~.exchange.Exchange`: ``kind``, ``object``, ``key``, ``index``, ``identity``)
and the routing table's ``Operation.resource``, never from a list of operations:

* ``conflict``: 412 with the revision-mismatch code of what is written (54205 for a
  Map item, 54103 for a Document, 54155 for a List item, per ``choices``), as a
  stale If-Match would get;
* ``race``: another writer really writes the Map item, List item or Document first
  (its ``data``, or the same data again), then the request goes on and meets the
  real 412 with the real revision;
* ``not_found``: the 404 of the deepest thing the path names: a permission (54354),
  a Map item (54201), a List item (54151), else the object (by SID 54100 Document,
  54150 List, 54250 Stream, the Map's per ``choices``; by unique name 54300), else
  the Service, else the routing 404 (20404);
* ``already_exists``: 409, 54208 for a Map item's key, 54301 for a unique name;
* ``rate_limited``, ``server_error``, ``delay`` and the transport faults work the
  same on every route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_syncmap.domain.choices import Choices
from pytest_syncmap.domain.errors import (
    ItemAlreadyExists,
    ItemNotFound,
    ListItemNotFound,
    PermissionNotFound,
    RevisionMismatch,
    ServiceNotFound,
    SyncError,
    UniqueNameTaken,
)
from pytest_syncmap.domain.model import KINDS, Store, is_sid

from .addressing import objects_of
from .api import Call, Result
from .boundary import Gate
from .exchange import Exchange
from .faults import Fault, delay_seconds
from .routing import Operation
from .twilio_errors import TwilioError, from_domain

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    _Action = Callable[[Fault, Call, Operation, WSGIEnvironment], Result | None]

__all__ = ["TRANSPORT_KEY", "FaultInjector"]

#: WSGI environ key through which the app asks the server host for a transport fault.
TRANSPORT_KEY = "pytest_syncmap.transport"

#: What a transport fault answers when the request is not processed (never read).
_LOST = '{"pytest_syncmap": "this answer is lost in transport"}'


class FaultInjector:
    """Carries out the faults that fire, for one emulator's store and gate."""

    def __init__(self, store: Store, choices: Choices, gate: Gate) -> None:
        self.store = store
        self.choices = choices
        self.gate = gate
        self._kinds: dict[str, _Action] = {
            "conflict": self._conflict,
            "race": self._race,
            "not_found": self._not_found,
            "already_exists": self._already_exists,
            "rate_limited": self._rate_limited,
            "server_error": self._server_error,
            "delay": self._delay,
        }

    def apply(
        self, fault: Fault, call: Call, op: Operation, environ: WSGIEnvironment
    ) -> Result | None:
        """Carry out ``fault``: raise its error, return an answer, or ``None`` to go on."""
        action = self._kinds.get(fault.kind, self._transport)
        return action(fault, call, op, environ)

    def _error(self, exc: SyncError, path: str) -> TwilioError:
        return from_domain(exc, self.choices, path)

    # -------------------------------------------------------------- writes
    def _conflict(self, fault: Fault, call: Call, op: Operation, environ: Any) -> Result | None:
        exchange = call.exchange
        current = exchange.revision_before or ""
        raise self._error(
            RevisionMismatch(_target(exchange), call.if_match or "", current, op.resource),
            exchange.path,
        )

    def _race(self, fault: Fault, call: Call, op: Operation, environ: Any) -> Result | None:
        """Another writer writes what the request is about, just before it."""
        exchange = call.exchange
        if exchange.kind is None or exchange.object is None:
            return None
        service, ref = exchange.service or "default", exchange.object
        objects = objects_of(self.store, exchange.kind)
        item = exchange.key if exchange.key is not None else exchange.index
        data = fault.options.get("data")
        try:
            if item is not None:
                items = objects.items
                new = items.get(service, ref, item).data if data is None else data
                items.update(service, ref, item, data=new)
            else:  # a Document: the only object a conditional write is about
                new = objects.get(service, ref).data if data is None else data
                objects.update(service, ref, data=new)
        except SyncError:
            pass  # nothing to race with: the request goes on as it is
        return None

    def _already_exists(
        self, fault: Fault, call: Call, op: Operation, environ: Any
    ) -> Result | None:
        exchange = call.exchange
        if exchange.key is not None:
            raise self._error(ItemAlreadyExists(exchange.object or "", exchange.key), exchange.path)
        raise self._error(UniqueNameTaken(exchange.form.get("UniqueName", "")), exchange.path)

    # ---------------------------------------------------------------- reads
    def _not_found(self, fault: Fault, call: Call, op: Operation, environ: Any) -> Result | None:
        exchange = call.exchange
        missing = _missing(exchange, op)
        if missing is None:
            raise TwilioError.not_found(exchange.path)
        raise self._error(missing, exchange.path)

    # ------------------------------------------------------------ anywhere
    def _rate_limited(self, fault: Fault, call: Call, op: Operation, environ: Any) -> Result | None:
        err = TwilioError(
            429,
            54009,
            "Rate limit exceeded. The rate of access to this resource exceeds the "
            "prescribed limits",
        )
        retry_after = fault.options.get("retry_after", 1)
        if retry_after is not None:
            err.headers["Retry-After"] = str(retry_after)
        raise err

    def _server_error(self, fault: Fault, call: Call, op: Operation, environ: Any) -> Result | None:
        status = int(fault.options.get("status", 500))
        message = {
            503: "Service unavailable",
            502: "Bad gateway",
            504: "Gateway timeout",
        }.get(status, "An internal server error has occurred")
        raise TwilioError(status, 20000 + status, message)

    def _delay(
        self, fault: Fault, call: Call, op: Operation, environ: WSGIEnvironment
    ) -> Result | None:
        # Sleep outside the gate: the next test need not wait for it, and if it began
        # meanwhile this request is refused instead of touching its state.
        if not self.gate.pause(environ, delay_seconds(fault)):
            raise self.gate.refuse(call.exchange.method, call.exchange.path, environ)
        return None

    def _transport(
        self, fault: Fault, call: Call, op: Operation, environ: WSGIEnvironment
    ) -> Result | None:
        # The server host acts on the connection after the answer.
        environ[TRANSPORT_KEY] = fault.kind
        if fault.options.get("processed", False):
            return None
        return 200, _LOST, {}


def _target(exchange: Exchange) -> str | int:
    """What a conditional write is about: a Map key, a List index, or the object."""
    if exchange.key is not None:
        return exchange.key
    if exchange.index is not None:
        return exchange.index
    return exchange.object or ""


def _missing(exchange: Exchange, op: Operation) -> SyncError | None:
    """The domain's not-found error for the deepest thing the request names."""
    kind, ref = exchange.kind, exchange.object or ""
    known = KINDS.get(kind or "")
    if not op.collection and known is not None:
        if exchange.identity is not None:
            return PermissionNotFound(ref, exchange.identity)
        if op.resource == f"{known.name}_item":
            if known.items == "keyed":
                return ItemNotFound(ref, exchange.key or "")
            return ListItemNotFound(ref, exchange.index if exchange.index is not None else 0)
    if known is not None and exchange.object is not None:
        return known.not_found(exchange.service or "default", ref, by_sid=is_sid(ref))
    service = exchange.service
    return None if service is None else ServiceNotFound(service)
