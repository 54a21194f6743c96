"""Test-side handles on a Service and on Sync objects: arrange and inspect without HTTP.

* :class:`MapHandle` reads like a read-only ``dict`` of key to data
  (``sync_map["alice"]``, ``"alice" in sync_map``, ``dict(sync_map)``);
* :class:`ListHandle` reads like a read-only sequence of its items' data in index order
  (``len(sync_list)``, ``list(sync_list)``, ``sync_list[-1]``); ``[]`` is by *position*,
  while :meth:`ListHandle.item` and :attr:`ListHandle.indexes` speak Twilio's indexes,
  which have gaps once items are removed;
* :class:`DocumentHandle` has the Document's ``data`` and ``revision``;
* :class:`StreamHandle` publishes, and records every message published to its Stream
  while the test runs (Twilio stores none, so this is how a test sees what its code
  published).

Each adds what a test needs to arrange state (``put``, ``append``, ``update``,
``delete``, ``publish``: writes with new revisions, validated as the API validates
them) and the assertions of :mod:`.assertions`. Reads go straight to the store, so they
cost no request and appear in no journal; every value handed out is a copy.

A handle outlives its object (see :class:`~.handle_base.ObjectHandle`): once the
object expired or was deleted it reads as empty or gone (no items, ``data`` and
``revision`` are ``None``, ``exists`` is false) and only ``.record`` raises, as the API
would answer 404.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, overload

from pytest_syncmap.domain.errors import SyncError
from pytest_syncmap.domain.model import (
    DocumentRecord,
    ItemRecord,
    ListItemRecord,
    ListRecord,
    MapRecord,
    ServiceRecord,
    StreamMessage,
    StreamRecord,
    SyncEvent,
    revision_str,
)

from .assertions import DocumentAssertions, ItemAssertions, StreamAssertions
from .handle_base import ObjectHandle

if TYPE_CHECKING:
    from pytest_syncmap.host.server import SyncServer

__all__ = ["DocumentHandle", "ListHandle", "MapHandle", "ServiceHandle", "StreamHandle"]

_MAP_WRITES = frozenset({"CreateSyncMapItem", "UpdateSyncMapItem"})
_LIST_WRITES = frozenset({"CreateSyncListItem", "UpdateSyncListItem"})
_DOCUMENT_WRITES = frozenset({"CreateDocument", "UpdateDocument"})


class ServiceHandle:
    """A Sync Service in the emulator, by SID."""

    def __init__(self, server: SyncServer, sid: str) -> None:
        self.server = server
        #: The Service SID (``IS...``).
        self.sid = sid

    @property
    def record(self) -> ServiceRecord:
        """The Service as the API would show it now."""
        return self.server.store.get_service(self.sid)

    @property
    def friendly_name(self) -> str | None:
        """The Service's friendly name."""
        return self.record.friendly_name

    @property
    def url(self) -> str:
        """Absolute URL of the Service resource on the emulator."""
        return f"{self.server.url}/v1/Services/{self.sid}"

    def __repr__(self) -> str:
        return f"<ServiceHandle {self.sid}>"


# ----------------------------------------------------------------------- Maps
class MapHandle(ObjectHandle[MapRecord], ItemAssertions[str], Mapping[str, dict[str, Any]]):
    """A Sync Map: a live, read-only mapping of key to item data.

    ``item(key)`` gives the record (revision, dates); ``put`` and ``delete`` arrange
    items; the assertions take a key (``assert_item("k", {...})``), and the time ones
    mean the Map itself without one (``assert_expired()``).
    """

    kind: ClassVar[str] = "map"
    noun: ClassVar[str] = "Map"
    _store_attr: ClassVar[str] = "maps"
    _path: ClassVar[str] = "Maps"
    write_operations = frozenset({*_MAP_WRITES, "DeleteSyncMapItem"})
    counted_writes = _MAP_WRITES

    @property
    def items_url(self) -> str:
        """Absolute URL of the Map's item collection on the emulator."""
        return f"{self.url}/Items"

    def item(self, key: str) -> ItemRecord | None:
        """The item as the API would show it (data, revision, dates), or ``None``."""
        try:
            record: ItemRecord = self._objects().items.get(self.service_sid, self.sid, key)
        except SyncError:
            return None
        return record

    def __getitem__(self, key: str) -> dict[str, Any]:
        record = self.item(key)
        if record is None:
            raise KeyError(key)
        return record.data

    def __iter__(self) -> Iterator[str]:
        try:
            records = self._objects().items.all(self.service_sid, self.sid)
        except SyncError:
            records = []  # the Map is gone: nothing in it
        return iter([r.key for r in records])

    def __len__(self) -> int:
        try:
            count: int = self._objects().items.count(self.service_sid, self.sid)
        except SyncError:
            return 0
        return count

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.item(key) is not None

    def put(self, key: str, data: Mapping[str, Any], *, ttl: int | None = None) -> ItemRecord:
        """Create or replace an item, as a write would; ``ttl`` in seconds (0: never).

        The write gets a new revision like any other, and the same validation as the
        API applies (key length, data size, TTL range).
        """
        record: ItemRecord = self._objects().items.put(
            self.service_sid, self.sid, key, data, ttl=ttl
        )
        return record

    def delete(self, key: str) -> None:
        """Remove an item; :class:`~pytest_syncmap.errors.ItemNotFound` if it is not there."""
        self._objects().items.delete(self.service_sid, self.sid, key)


# ---------------------------------------------------------------------- Lists
class ListHandle(ObjectHandle[ListRecord], ItemAssertions[int], Sequence[dict[str, Any]]):
    """A Sync List: a live, read-only sequence of its items' data, in index order.

    ``sync_list[i]`` is the item at *position* ``i`` (``sync_list[-1]`` the last one,
    slices work); Twilio's indexes are :attr:`indexes` and :meth:`item` (they start at
    0 and grow, but removed items leave gaps, so position and index can differ).
    ``append`` adds an item at the next index; ``update`` and ``delete`` take an index,
    and so do the assertions (``assert_item(0, {...})``); the time ones mean the List
    itself without one (``assert_expired()``).
    """

    kind: ClassVar[str] = "list"
    noun: ClassVar[str] = "List"
    item_word: ClassVar[str] = "index"
    _store_attr: ClassVar[str] = "lists"
    _path: ClassVar[str] = "Lists"
    write_operations = frozenset({*_LIST_WRITES, "DeleteSyncListItem"})
    counted_writes = _LIST_WRITES

    @property
    def items_url(self) -> str:
        """Absolute URL of the List's item collection on the emulator."""
        return f"{self.url}/Items"

    def _records(self) -> list[ListItemRecord]:
        try:
            records: list[ListItemRecord] = self._objects().items.all(self.service_sid, self.sid)
        except SyncError:
            return []  # the List is gone: nothing in it
        return records

    @property
    def indexes(self) -> list[int]:
        """The Twilio indexes of the live items, ascending (gaps where items went)."""
        return [r.index for r in self._records()]

    def item(self, index: int) -> ListItemRecord | None:
        """The item at Twilio index ``index`` as the API would show it, or ``None``."""
        try:
            record: ListItemRecord = self._objects().items.get(self.service_sid, self.sid, index)
        except SyncError:
            return None
        return record

    @overload
    def __getitem__(self, position: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, position: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, position: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        records = self._records()
        if isinstance(position, slice):
            return [r.data for r in records[position]]
        try:
            return records[position].data
        except IndexError:
            raise IndexError(
                f"position {position} is out of range: the List holds {len(records)} "
                f"item(s) (indexes {[r.index for r in records]}); sync_list.item(index) "
                "reads by Twilio index"
            ) from None

    def __len__(self) -> int:
        try:
            count: int = self._objects().items.count(self.service_sid, self.sid)
        except SyncError:
            return 0
        return count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter([r.data for r in self._records()])

    def __reversed__(self) -> Iterator[dict[str, Any]]:
        return iter([r.data for r in reversed(self._records())])

    def append(self, data: Mapping[str, Any], *, ttl: int | None = None) -> ListItemRecord:
        """Add an item at the List's next index, as a create would; ``ttl`` in seconds.

        Returns the record, whose ``index`` is the one assigned.
        """
        record: ListItemRecord = self._objects().items.create(
            self.service_sid, self.sid, data, ttl=ttl
        )
        return record

    def update(
        self, index: int, data: Mapping[str, Any] | None = None, *, ttl: int | None = None
    ) -> ListItemRecord:
        """Replace the item's data (wholesale) and/or set its TTL, as an update would."""
        record: ListItemRecord = self._objects().items.update(
            self.service_sid, self.sid, index, data=data, ttl=ttl
        )
        return record

    def delete(self, index: int) -> None:
        """Remove the item at ``index`` (``ListItemNotFound`` if it is not there); the
        other items keep their indexes."""
        self._objects().items.delete(self.service_sid, self.sid, index)


# ------------------------------------------------------------------ Documents
class DocumentHandle(ObjectHandle[DocumentRecord], DocumentAssertions):
    """A Sync Document: its ``data`` and ``revision``, ``update`` and ``delete``.

    The assertions take no key: ``assert_data({...})``, ``assert_expired()``.
    """

    kind: ClassVar[str] = "document"
    noun: ClassVar[str] = "Document"
    _store_attr: ClassVar[str] = "documents"
    _path: ClassVar[str] = "Documents"
    write_operations = frozenset({*_DOCUMENT_WRITES, "DeleteDocument"})
    counted_writes = _DOCUMENT_WRITES

    @property
    def data(self) -> dict[str, Any] | None:
        """A copy of the Document's data now; ``None`` once the Document is gone."""
        record = self._live()
        return None if record is None else record.data

    @property
    def revision(self) -> str | None:
        """The revision as the API shows it (a string, its ``ETag``); ``None`` once gone."""
        record = self._live()
        return None if record is None else revision_str(record.revision)

    def update(
        self, data: Mapping[str, Any] | None = None, *, ttl: int | None = None
    ) -> DocumentRecord:
        """Replace the data (wholesale) and/or set the TTL, as an update would: a new
        revision, the API's validation (data size, TTL range)."""
        record: DocumentRecord = self._objects().update(
            self.service_sid, self.sid, data=data, ttl=ttl
        )
        return record

    def delete(self) -> None:
        """Delete the Document (``DocumentNotFound`` if it is already gone)."""
        self._objects().delete(self.service_sid, self.sid)


# -------------------------------------------------------------------- Streams
class StreamHandle(ObjectHandle[StreamRecord], StreamAssertions):
    """A Sync Stream: ``publish``, and the messages published to it during the test.

    Twilio never stores Stream Messages. While it records (the ``sync_stream`` fixture
    records from its creation to the end of the test), the handle keeps every message
    published to its Stream, by any client or by :meth:`publish`: ``messages`` (records
    with ``sid``, ``data``, ``date_published``) and ``published`` (their data), oldest
    first. A handle made by hand records once :meth:`start_recording` is called, until
    :meth:`stop_recording`.
    """

    kind: ClassVar[str] = "stream"
    noun: ClassVar[str] = "Stream"
    _store_attr: ClassVar[str] = "streams"
    _path: ClassVar[str] = "Streams"

    def __init__(
        self,
        server: SyncServer,
        service_sid: str,
        sid: str,
        *,
        record: StreamRecord | None = None,
    ) -> None:
        super().__init__(server, service_sid, sid, record=record)
        self._messages: list[StreamMessage] = []
        self._recording = False

    @property
    def messages_url(self) -> str:
        """Absolute URL of the Stream's message collection (where messages are POSTed)."""
        return f"{self.url}/Messages"

    # -------------------------------------------------------------- recording
    def _on_event(self, event: SyncEvent) -> None:
        # A store listener: runs under the store's lock for every mutation, so it only
        # compares and appends.
        if event.type == "stream_message_published" and event.object.sid == self.sid:
            message = event.message
            if message is not None:
                self._messages.append(message)

    def start_recording(self) -> StreamHandle:
        """Keep every message published to the Stream from now on (idempotent)."""
        # Listeners are called under the store's lock: change them under it too.
        with self.server.store.transaction():
            if not self._recording:
                self.server.store.listeners.append(self._on_event)
                self._recording = True
        return self

    def stop_recording(self) -> None:
        """Stop keeping messages (what was kept stays readable); idempotent."""
        with self.server.store.transaction():
            if self._recording:
                self.server.store.listeners.remove(self._on_event)
                self._recording = False

    @property
    def recording(self) -> bool:
        """Whether messages published now are kept."""
        return self._recording

    @property
    def messages(self) -> list[StreamMessage]:
        """The messages published to the Stream while recording, oldest first (a copy)."""
        return list(self._messages)

    @property
    def published(self) -> list[dict[str, Any]]:
        """The data of :attr:`messages`, oldest first (copies)."""
        return [m.data for m in self._messages]

    # ------------------------------------------------------------------ writes
    def publish(self, data: Mapping[str, Any]) -> StreamMessage:
        """Publish a message, as a client would (at most 4 KiB of JSON); recorded too."""
        message: StreamMessage = self._objects().publish(self.service_sid, self.sid, data)
        return message

    def delete(self) -> None:
        """Delete the Stream (``StreamNotFound`` if it is already gone)."""
        self._objects().delete(self.service_sid, self.sid)
