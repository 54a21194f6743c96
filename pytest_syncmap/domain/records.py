"""Immutable snapshots of Sync state, handed out by the :class:`~.store.Store`.

Every record is a frozen, slotted dataclass: a caller may keep or render one after the
store's lock is released without ever seeing a torn write. Data is kept as compact JSON
text (``data_json``) and parsed on demand, so storing and rendering never re-serialise.

Objects (Maps, Lists, Documents, Streams) share :class:`ObjectRecord`; items of Maps and
Lists share :class:`ItemFields`. They differ only where Twilio's resources differ: a Map
item has a ``key``, a List item an ``index``, a Document ``data``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

__all__ = [
    "CREATED_BY",
    "DocumentRecord",
    "ItemRecord",
    "ListItemRecord",
    "ListRecord",
    "MapRecord",
    "ObjectRecord",
    "Page",
    "PermissionRecord",
    "ServiceRecord",
    "StreamMessage",
    "StreamRecord",
    "SyncEvent",
]

#: ``created_by`` of every object created through REST (``SYNC_API.md`` 3.11).
CREATED_BY = "system"

V = TypeVar("V")


def _parse(data_json: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(data_json)
    return value


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """A Sync Service as the API shows it."""

    sid: str
    friendly_name: str | None
    webhook_url: str | None
    webhooks_from_rest_enabled: bool
    reachability_webhooks_enabled: bool
    acl_enabled: bool
    reachability_debouncing_enabled: bool
    reachability_debouncing_window: int
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """What every Sync object (Map, List, Document, Stream) has."""

    sid: str
    service_sid: str
    unique_name: str | None
    #: Counter of the object's writes (its items' writes included); rendered as hex.
    revision: int
    date_created: datetime
    date_updated: datetime
    date_expires: datetime | None
    created_by: str = CREATED_BY


@dataclass(frozen=True, slots=True)
class MapRecord(ObjectRecord):
    """A Sync Map (``MP``): a keyed collection of items."""


@dataclass(frozen=True, slots=True)
class ListRecord(ObjectRecord):
    """A Sync List (``ES``): an ordered collection of items indexed from 0."""


@dataclass(frozen=True, slots=True)
class DocumentRecord(ObjectRecord):
    """A Sync Document (``ET``): one JSON object."""

    data_json: str = "{}"

    @property
    def data(self) -> dict[str, Any]:
        """A fresh copy of the Document's data."""
        return _parse(self.data_json)


@dataclass(frozen=True, slots=True)
class StreamRecord(ObjectRecord):
    """A Sync Stream (``TO``): a channel whose messages are relayed, never stored.

    Twilio shows no revision for a Stream; ``revision`` stays 0 here.
    """


@dataclass(frozen=True, slots=True)
class ItemFields:
    """What Map items and List items both have."""

    service_sid: str
    data_json: str
    revision: int
    date_created: datetime
    date_updated: datetime
    date_expires: datetime | None
    created_by: str = CREATED_BY

    @property
    def data(self) -> dict[str, Any]:
        """A fresh copy of the item's data."""
        return _parse(self.data_json)


@dataclass(frozen=True, slots=True)
class ItemRecord(ItemFields):
    """A Map Item, addressed by its ``key``."""

    key: str = ""
    map_sid: str = ""


@dataclass(frozen=True, slots=True)
class ListItemRecord(ItemFields):
    """A List Item, addressed by its ``index`` (from 0, never reused)."""

    index: int = 0
    list_sid: str = ""


@dataclass(frozen=True, slots=True)
class PermissionRecord:
    """An identity's permission on a Document, List or Map (no SID, no dates)."""

    service_sid: str
    #: ``map``, ``list`` or ``document``.
    kind: str
    object_sid: str
    identity: str
    read: bool
    write: bool
    manage: bool


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """A message published to a Stream (``TZ``); Twilio keeps none of them."""

    sid: str
    service_sid: str
    stream_sid: str
    data_json: str
    date_published: datetime

    @property
    def data(self) -> dict[str, Any]:
        """A fresh copy of the message's data."""
        return _parse(self.data_json)


@dataclass(frozen=True, slots=True)
class Page(Generic[V]):
    """One page of a listing, whether records lie beyond it, and its ends as cursors.

    ``first`` and ``last`` are the positions (item key or index, permission identity,
    or creation number of an object) of the first and last record; a cursor for the
    next page continues after ``last``, one for the previous page ends before ``first``.
    """

    records: list[V]
    has_next: bool
    has_previous: bool
    first: str | int | None
    last: str | int | None
    #: True when the page is empty and ``first`` is the cursor it was read from: the
    #: previous page then ends *at* ``first`` rather than before it.
    first_inclusive: bool = False


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """A mutation, in the order it happened (``id`` strictly increases).

    ``type`` is Twilio's event name: ``map_created``, ``map_removed``,
    ``map_item_added``/``_updated``/``_removed``, ``document_created``/``_updated``/
    ``_removed``, ``list_created``, ``list_removed``, ``list_item_added``/``_updated``/
    ``_removed``, and, for Streams (which Twilio reports to clients, not webhooks),
    ``stream_created``, ``stream_removed``, ``stream_message_published``. ``cause`` is
    ``"write"`` or ``"expiry"``. ``service`` is the Service as it was at that moment
    (webhook settings included) and ``object`` the Map, List, Document or Stream as it
    is after the change, so a listener never needs the store's lock.
    """

    id: int
    type: str
    cause: str
    date: datetime
    service: ServiceRecord
    object: ObjectRecord
    #: The item's key (Map) or index (List) on item events.
    item_key: str | int | None = None
    item_data_json: str | None = None
    item_revision: int | None = None
    #: The published message on ``stream_message_published``.
    message: StreamMessage | None = None

    @property
    def kind(self) -> str:
        """The object kind the event is about: ``map``, ``list``, ``document``, ``stream``."""
        return self.type.split("_", 1)[0]

    @property
    def map(self) -> ObjectRecord:
        """The object of the event (named for the Map events it first served)."""
        return self.object
