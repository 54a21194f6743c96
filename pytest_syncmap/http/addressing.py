"""What a request addressed, for every kind of Sync object alike.

The routing table says which resource an operation acts on (``Operation.resource``:
``map_item``, ``document_permission``, ``stream_message``...) and the route names the
path parameters after the kinds (``service``, ``map``, ``list``, ``document``,
``stream``, then ``key``, ``index``, ``identity``). From those two, and nothing
particular to one operation, :func:`address` fills an :class:`~.exchange.Exchange`'s
``kind``, ``object``, ``key``, ``index`` and ``identity``; :func:`resolve` adds the
object's SID and unique name; :func:`note_created` takes them (and a new List item's
index) from the answer of a create; :func:`peek_revision` reads the revision of the
Map item, List item or Document a request is about.

Nothing here creates anything. A lookup through the ``default`` Service makes that
Service on first use, so :func:`resolve` and :func:`peek_revision` look nothing up
through ``default`` before it exists (nothing can be found in it then anyway).
"""

from __future__ import annotations

import json
from typing import Any

from pytest_syncmap.domain.errors import SyncError
from pytest_syncmap.domain.model import KINDS, Store

from .exchange import Exchange, kind_of_resource
from .params import parse_index
from .routing import Operation
from .twilio_errors import TwilioError

__all__ = ["address", "note_created", "objects_of", "peek_revision", "resolve"]


def address(exchange: Exchange, op: Operation, params: dict[str, str]) -> None:
    """Fill what ``exchange`` addresses from its operation and path parameters.

    A create of a Map item names its key in the ``Key`` form field, so the form
    must be parsed first.
    """
    kind = _KIND_OF.get(op.resource, _UNSEEN)
    if kind is _UNSEEN:
        kind = _KIND_OF[op.resource] = kind_of_resource(op.resource)
    exchange.kind = kind
    exchange.service = params.get("service")
    if kind is not None:
        exchange.object = params.get(kind)
    exchange.key = params.get("key")
    raw_index = params.get("index")
    if raw_index is not None:
        exchange.index = _index(raw_index)
    exchange.identity = params.get("identity")
    if op.collection and exchange.method == "POST" and _item_kind(op) == "keyed":
        exchange.key = exchange.form.get("Key")


#: The kind of each ``Operation.resource`` met so far (a request costs a lookup).
_KIND_OF: dict[str, str | None] = {}
_UNSEEN = "\0"


def _index(raw: str) -> int | None:
    """The index a path names, or ``None`` when it is not one (the handler says 400)."""
    try:
        return parse_index(raw, 54458)
    except TwilioError:
        return None


def _item_kind(op: Operation) -> str | None:
    """``keyed`` or ``indexed`` for an operation on items, else ``None``."""
    kind = kind_of_resource(op.resource)
    if kind is None or op.resource != f"{kind}_item":
        return None
    return KINDS[kind].items


def objects_of(store: Store, kind: str) -> Any:
    """The store's collection of ``kind`` objects (``store.maps``, ``store.lists``...)."""
    return getattr(store, _COLLECTIONS[kind])


def _service_exists(store: Store, ref: str) -> bool:
    """Whether looking ``ref`` up creates nothing (only ``default`` is made on use)."""
    return ref != "default" or store.has_service(ref)


def resolve(store: Store, exchange: Exchange) -> None:
    """Note the SID and unique name of the object ``exchange`` addressed, if it exists."""
    ref, kind = exchange.object, exchange.kind
    if exchange.object_sid is not None or ref is None or kind is None:
        return
    service = exchange.service or ref
    if service == "default" and not _service_exists(store, service):
        return
    try:
        if kind == "service":
            exchange.object_sid = store.get_service(ref).sid
            return
        record = getattr(store, _COLLECTIONS[kind]).get(service, ref)
    except SyncError:
        return
    exchange.object_sid, exchange.object_name = record.sid, record.unique_name


#: The store's attribute holding each kind of object.
_COLLECTIONS = {"map": "maps", "list": "lists", "document": "documents", "stream": "streams"}


def note_created(exchange: Exchange, op: Operation, body_text: str) -> None:
    """From a create's answer: the new object's SID and unique name, an item's index."""
    kind = kind_of_resource(op.resource)
    created_object = op.resource == kind
    if kind is None or not (created_object or _item_kind(op) == "indexed"):
        return
    try:
        body = json.loads(body_text)
    except ValueError:  # a transport fault's stand-in answer
        return
    if not isinstance(body, dict):
        return
    if created_object and isinstance(body.get("sid"), str):
        exchange.object_sid = body["sid"]
        name = body.get("unique_name")
        exchange.object_name = name if isinstance(name, str) else None
    index = body.get("index")
    if not created_object and isinstance(index, int) and not isinstance(index, bool):
        exchange.index = index


def peek_revision(store: Store, exchange: Exchange) -> str | None:
    """The current revision of the Map item, List item or Document addressed, if any.

    ``None`` for anything else (an object without data of its own, a permission),
    and when it does not exist.
    """
    if exchange.kind is None or exchange.object is None or exchange.identity is not None:
        return None
    service = exchange.service or "default"
    if exchange.kind == "service" or not _service_exists(store, service):
        return None
    objects = objects_of(store, exchange.kind)
    item = exchange.key if exchange.key is not None else exchange.index
    if item is not None:
        items = getattr(objects, "items", None)
        return None if items is None else items.peek_revision(service, exchange.object, item)
    peek = getattr(objects, "peek_revision", None)
    return None if peek is None else peek(service, exchange.object)
