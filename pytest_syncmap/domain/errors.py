"""Domain errors: what went wrong, in the model's terms, with no HTTP in them.

The HTTP layer (``http/twilio_errors.py``) maps each of these to Twilio's status, code
and message. Test-side helpers raise them as they are, so a test that seeds a bad item
gets the same reason a client would.
"""

from __future__ import annotations

__all__ = [
    "DataTooLarge",
    "DocumentNotFound",
    "InvalidData",
    "InvalidIdentity",
    "InvalidKey",
    "InvalidTtl",
    "InvalidUniqueName",
    "ItemAlreadyExists",
    "ItemNotFound",
    "ListItemNotFound",
    "ListNotFound",
    "MapNotFound",
    "NothingToUpdate",
    "ObjectNotFound",
    "PermissionNotFound",
    "RevisionMismatch",
    "ServiceNotFound",
    "StreamNotFound",
    "SyncError",
    "UniqueNameTaken",
]

_NAMES = {"map": "Map", "list": "List", "document": "Document", "stream": "Stream"}


class SyncError(Exception):
    """Base class of every error the Sync domain model raises."""


class ServiceNotFound(SyncError):
    """No Service with this SID (or the reference is not a Service SID at all)."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"Service {ref!r} not found")
        self.ref = ref


class ObjectNotFound(SyncError):
    """No Map, List, Document or Stream with this SID or unique name in the Service."""

    #: ``map``, ``list``, ``document`` or ``stream``.
    kind = "object"

    def __init__(self, service_sid: str, ref: str, *, by_sid: bool) -> None:
        what = "SID" if by_sid else "unique name"
        super().__init__(
            f"{_NAMES.get(self.kind, 'Object')} with {what} {ref!r} not found "
            f"in Service {service_sid}"
        )
        self.service_sid = service_sid
        self.ref = ref
        self.by_sid = by_sid


class MapNotFound(ObjectNotFound):
    """No Map with this SID or unique name in the Service."""

    kind = "map"


class ListNotFound(ObjectNotFound):
    """No List with this SID or unique name in the Service."""

    kind = "list"


class DocumentNotFound(ObjectNotFound):
    """No Document with this SID or unique name in the Service."""

    kind = "document"


class StreamNotFound(ObjectNotFound):
    """No Stream with this SID or unique name in the Service."""

    kind = "stream"


class ItemNotFound(SyncError):
    """No (live) item with this key in the Map."""

    def __init__(self, map_sid: str, key: str) -> None:
        super().__init__(f"Item {key!r} not found in Map {map_sid}")
        self.map_sid = map_sid
        self.key = key


class ListItemNotFound(SyncError):
    """No (live) item at this index in the List."""

    def __init__(self, list_sid: str, index: int) -> None:
        super().__init__(f"Item {index} not found in List {list_sid}")
        self.list_sid = list_sid
        self.index = index


class PermissionNotFound(SyncError):
    """No permission for this identity on the object."""

    def __init__(self, object_sid: str, identity: str) -> None:
        super().__init__(f"No permission for identity {identity!r} on {object_sid}")
        self.object_sid = object_sid
        self.identity = identity


class ItemAlreadyExists(SyncError):
    """An item with this key already exists in the Map."""

    def __init__(self, map_sid: str, key: str) -> None:
        super().__init__(f"Item {key!r} already exists in Map {map_sid}")
        self.map_sid = map_sid
        self.key = key


class UniqueNameTaken(SyncError):
    """Another object of the same kind in the Service already has this unique name."""

    def __init__(self, unique_name: str) -> None:
        super().__init__(f"Unique name {unique_name!r} already exists")
        self.unique_name = unique_name


class InvalidUniqueName(SyncError):
    """Empty, too long, shaped like a SID, or (by choice) holding ``/``."""

    def __init__(self, unique_name: str, max_length: int, *, slash: bool = False) -> None:
        super().__init__(
            f"Invalid unique name {unique_name[:40]!r}: expected a string with length "
            f"1-{max_length} not matching the SID pattern [A-Z]{{2}}[a-f0-9]{{32}}"
            + (" and without '/'" if slash else "")
        )
        self.unique_name = unique_name
        self.max_length = max_length
        self.slash = slash


class InvalidKey(SyncError):
    """An item key that is empty or too long."""

    def __init__(self, key: str, max_length: int) -> None:
        super().__init__(
            f"Invalid Map Item key of length {len(key)}: the key must be a string "
            f"with length 1-{max_length}"
        )
        self.key = key
        self.max_length = max_length


class InvalidIdentity(SyncError):
    """A permission identity that is empty or too long."""

    def __init__(self, identity: str, max_length: int) -> None:
        super().__init__(
            f"Invalid identity of length {len(identity)}: an identity must be a string "
            f"with length 1-{max_length}"
        )
        self.identity = identity
        self.max_length = max_length


class InvalidData(SyncError):
    """Data that is not a JSON object."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DataTooLarge(SyncError):
    """Data whose serialised size exceeds the limit."""

    def __init__(self, size: int, limit: int, what: str = "Map Item") -> None:
        super().__init__(f"{what} data is {size} bytes; the limit is {limit} bytes")
        self.size = size
        self.limit = limit
        self.what = what


class InvalidTtl(SyncError):
    """A TTL that is not an integer number of seconds in 0..31,536,000."""

    def __init__(self, name: str, value: object) -> None:
        super().__init__(
            f"Invalid {name} {value!r}: the TTL value in seconds must either be empty or "
            "an integer between 0 and 31 536 000 (1 year)"
        )
        self.name = name
        self.value = value


class RevisionMismatch(SyncError):
    """A conditional write whose If-Match is not the current revision.

    ``kind`` says what was written: ``map_item``, ``list_item`` or ``document``.
    """

    def __init__(self, key: str | int, expected: str, actual: str, kind: str = "map_item") -> None:
        super().__init__(f"{key!r} is at revision {actual!r}, not the expected {expected!r}")
        self.key = key
        self.expected = expected
        self.actual = actual
        self.kind = kind


class NothingToUpdate(SyncError):
    """An update request that changes nothing (or only ``CollectionTtl``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
