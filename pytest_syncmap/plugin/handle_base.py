"""What every object handle has: identity, the live record, and a life after the object.

:class:`ObjectHandle` is the common base of the Map, List, Document and Stream handles
(:mod:`.handles`). It names one object by Service and SID and reads it straight from the
emulator's store, without HTTP. A handle outlives its object: once the object expired
or was deleted, ``exists`` is false, ``unique_name`` is still known and the ``repr``
says what happened; only :attr:`ObjectHandle.record` raises (the domain's
``ObjectNotFound``, such as ``MapNotFound``), as the API would answer 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pytest_syncmap.domain.errors import ObjectNotFound, ServiceNotFound
from pytest_syncmap.domain.model import ObjectRecord

if TYPE_CHECKING:
    from pytest_syncmap.host.server import SyncServer

__all__ = ["ObjectHandle"]

R = TypeVar("R", bound=ObjectRecord)


class ObjectHandle(Generic[R]):
    """A Sync object in the emulator, by Service and SID; see the module docstring."""

    #: ``map``, ``list``, ``document`` or ``stream``.
    kind: ClassVar[str]
    #: The kind as messages and the API name it (``Map``, ``List``...).
    noun: ClassVar[str]
    #: The store's collection of this kind (``maps``, ``lists``...).
    _store_attr: ClassVar[str]
    #: The path segment of the kind's resources (``Maps``, ``Lists``...).
    _path: ClassVar[str]

    def __init__(
        self, server: SyncServer, service_sid: str, sid: str, *, record: R | None = None
    ) -> None:
        #: The emulator that holds the object.
        self.server = server
        #: The SID of the Service that holds the object.
        self.service_sid = service_sid
        #: The object's SID (``MP...``, ``ES...``, ``ET...``, ``TO...``).
        self.sid = sid
        self._last = record

    def _objects(self) -> Any:
        """The store's operations on this kind (``store.maps``, ``store.lists``...)."""
        return getattr(self.server.store, self._store_attr)

    @property
    def record(self) -> R:
        """The object as the API would show it now; ``ObjectNotFound`` once it is gone."""
        record: R = self._objects().get(self.service_sid, self.sid)
        self._last = record
        return record

    def _live(self) -> R | None:
        """The record now, or ``None`` once the object (or its Service) is gone."""
        try:
            return self.record
        except (ObjectNotFound, ServiceNotFound):
            return None

    @property
    def unique_name(self) -> str | None:
        """The object's unique name, or ``None`` (still known once the object is gone)."""
        record = self._live() or self._last
        return None if record is None else record.unique_name

    @property
    def exists(self) -> bool:
        """Whether the object is still there (not expired, not deleted)."""
        return self._live() is not None

    @property
    def url(self) -> str:
        """Absolute URL of the object's resource on the emulator."""
        return f"{self.server.url}/v1/Services/{self.service_sid}/{self._path}/{self.sid}"

    def __repr__(self) -> str:
        name = type(self).__name__
        record = self._live()
        if record is not None:
            return f"<{name} {self.sid} unique_name={record.unique_name!r}>"
        last = self._last
        unique_name = None if last is None else last.unique_name
        expires = None if last is None else last.date_expires
        if expires is not None and expires <= self.server.store.clock.now():
            state = f"expired at {expires:%Y-%m-%dT%H:%M:%SZ}"
        else:
            state = "gone (deleted or expired)"
        return f"<{name} {self.sid} unique_name={unique_name!r} {state}>"
