"""Test-side handles on a Service and a Map: arrange and inspect state without HTTP.

A :class:`MapHandle` reads like a read-only ``dict`` of key to data
(``sync_map["alice"]``, ``"alice" in sync_map``, ``dict(sync_map)``) and adds what a
test needs to arrange state (:meth:`MapHandle.put`, :meth:`MapHandle.delete`) and to
look at what the API would show (:meth:`MapHandle.item` with revision and expiry).
Reads go straight to the model, so they cost no request and do not appear in any
request log. Every value handed out is a copy: mutating it changes nothing stored.

A handle outlives its Map: once the Map expired (or was deleted) it reads as an empty
mapping (``len() == 0``, no keys, ``item()`` is ``None``) and its ``repr`` says the
Map is gone; only :attr:`MapHandle.record` raises ``MapNotFound``, as the API would
answer 404.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pytest_syncmap.domain.errors import ItemNotFound, MapNotFound, ServiceNotFound
from pytest_syncmap.domain.model import ItemRecord, MapRecord, ServiceRecord

from .assertions import MapAssertions

if TYPE_CHECKING:
    from pytest_syncmap.host.server import SyncServer

__all__ = ["MapHandle", "ServiceHandle"]


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


class MapHandle(MapAssertions, Mapping[str, dict[str, Any]]):
    """A Sync Map in the emulator: a live, read-only mapping of key to item data.

    Also carries the assertion helpers of :class:`~pytest_syncmap.assertions.MapAssertions`
    (``assert_expired``, ``assert_alive``, ``assert_expires_at``).
    """

    def __init__(
        self, server: SyncServer, service_sid: str, sid: str, *, record: MapRecord | None = None
    ) -> None:
        self.server = server
        #: The SID of the Service that holds the Map.
        self.service_sid = service_sid
        #: The Map SID (``MP...``).
        self.sid = sid
        self._last = record

    # ---------------------------------------------------------------- identity
    @property
    def record(self) -> MapRecord:
        """The Map as the API would show it now; ``MapNotFound`` once it is gone."""
        record = self.server.store.get_map(self.service_sid, self.sid)
        self._last = record
        return record

    def _live(self) -> MapRecord | None:
        try:
            return self.record
        except (MapNotFound, ServiceNotFound):
            return None

    @property
    def unique_name(self) -> str | None:
        """The Map's unique name, or ``None`` (still known once the Map is gone)."""
        record = self._live() or self._last
        return None if record is None else record.unique_name

    @property
    def exists(self) -> bool:
        """Whether the Map is still there (not expired, not deleted)."""
        return self._live() is not None

    @property
    def url(self) -> str:
        """Absolute URL of the Map resource on the emulator."""
        return f"{self.server.url}/v1/Services/{self.service_sid}/Maps/{self.sid}"

    @property
    def items_url(self) -> str:
        """Absolute URL of the Map's item collection on the emulator."""
        return f"{self.url}/Items"

    # ------------------------------------------------------------------- reads
    def item(self, key: str) -> ItemRecord | None:
        """The item as the API would show it (data, revision, dates), or ``None``."""
        try:
            return self.server.store.get_item(self.service_sid, self.sid, key)
        except (ItemNotFound, MapNotFound, ServiceNotFound):
            return None

    def __getitem__(self, key: str) -> dict[str, Any]:
        record = self.item(key)
        if record is None:
            raise KeyError(key)
        return record.data

    def __iter__(self) -> Iterator[str]:
        try:
            records = self.server.store.all_items(self.service_sid, self.sid)
        except (MapNotFound, ServiceNotFound):
            records = []  # the Map is gone: nothing in it
        return iter([r.key for r in records])

    def __len__(self) -> int:
        try:
            return self.server.store.item_count(self.service_sid, self.sid)
        except (MapNotFound, ServiceNotFound):
            return 0

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.item(key) is not None

    # ------------------------------------------------------------------ writes
    def put(self, key: str, data: Mapping[str, Any], *, ttl: int | None = None) -> ItemRecord:
        """Create or replace an item, as a write would; ``ttl`` in seconds (0: never).

        The write gets a new revision like any other, and the same validation as the
        API applies (key length, data size, TTL range).
        """
        return self.server.store.put_item(self.service_sid, self.sid, key, data, ttl=ttl)

    def delete(self, key: str) -> None:
        """Remove an item; :class:`~pytest_syncmap.errors.ItemNotFound` if it is not there."""
        self.server.store.delete_item(self.service_sid, self.sid, key)

    def __repr__(self) -> str:
        record = self._live()
        if record is not None:
            return f"<MapHandle {self.sid} unique_name={record.unique_name!r}>"
        last = self._last
        name = None if last is None else last.unique_name
        expires = None if last is None else last.date_expires
        if expires is not None and expires <= self.server.store.clock.now():
            state = f"expired at {expires:%Y-%m-%dT%H:%M:%SZ}"
        else:
            state = "gone (deleted or expired)"
        return f"<MapHandle {self.sid} unique_name={name!r} {state}>"
