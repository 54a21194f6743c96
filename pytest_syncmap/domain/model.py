"""The domain model's public names in one place: the :class:`Store` and its records.

The model is split by job (``store.py`` and ``core.py`` for state and its plumbing,
``objects.py``, ``items.py``, ``permissions.py`` per kind of thing, ``records.py``,
``sorted_keys.py``, ``expiry.py``, ``paging.py``, ``validation.py``, ``ids.py``); the
layers above import what they need from here.
"""

from __future__ import annotations

from .core import DEFAULT_SERVICE, SERVICE_DEFAULTS
from .ids import is_sid, new_sid, revision_str
from .kinds import DOCUMENT, KINDS, LIST, MAP, STREAM, Kind
from .records import (
    CREATED_BY,
    DocumentRecord,
    ItemFields,
    ItemRecord,
    ListItemRecord,
    ListRecord,
    MapRecord,
    ObjectRecord,
    Page,
    PermissionRecord,
    ServiceRecord,
    StreamMessage,
    StreamRecord,
    SyncEvent,
)
from .store import Store
from .validation import MAX_TTL, check_ttl, serialize_data

__all__ = [
    "CREATED_BY",
    "DEFAULT_SERVICE",
    "DOCUMENT",
    "KINDS",
    "LIST",
    "MAP",
    "MAX_TTL",
    "SERVICE_DEFAULTS",
    "STREAM",
    "DocumentRecord",
    "ItemFields",
    "ItemRecord",
    "Kind",
    "ListItemRecord",
    "ListRecord",
    "MapRecord",
    "ObjectRecord",
    "Page",
    "PermissionRecord",
    "ServiceRecord",
    "Store",
    "StreamMessage",
    "StreamRecord",
    "SyncEvent",
    "check_ttl",
    "is_sid",
    "new_sid",
    "revision_str",
    "serialize_data",
]
