"""Domain errors: what went wrong, in the model's terms, with no HTTP in them.

The HTTP layer (``twilio_errors.py``) maps each of these to Twilio's status, code
and message. Test-side helpers raise them as they are, so a test that seeds a bad
item gets the same reason a client would.
"""

from __future__ import annotations

__all__ = [
    "DataTooLarge",
    "InvalidData",
    "InvalidKey",
    "InvalidTtl",
    "InvalidUniqueName",
    "ItemAlreadyExists",
    "ItemNotFound",
    "MapNotFound",
    "NothingToUpdate",
    "RevisionMismatch",
    "ServiceNotFound",
    "SyncError",
    "UniqueNameTaken",
]


class SyncError(Exception):
    """Base class of every error the Sync domain model raises."""


class ServiceNotFound(SyncError):
    """No Service with this SID (or the reference is not a Service SID at all)."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"Service {ref!r} not found")
        self.ref = ref


class MapNotFound(SyncError):
    """No Map with this SID or unique name in the Service."""

    def __init__(self, service_sid: str, ref: str, *, by_sid: bool) -> None:
        kind = "SID" if by_sid else "unique name"
        super().__init__(f"Map with {kind} {ref!r} not found in Service {service_sid}")
        self.service_sid = service_sid
        self.ref = ref
        self.by_sid = by_sid


class ItemNotFound(SyncError):
    """No (live) item with this key in the Map."""

    def __init__(self, map_sid: str, key: str) -> None:
        super().__init__(f"Item {key!r} not found in Map {map_sid}")
        self.map_sid = map_sid
        self.key = key


class ItemAlreadyExists(SyncError):
    """An item with this key already exists in the Map."""

    def __init__(self, map_sid: str, key: str) -> None:
        super().__init__(f"Item {key!r} already exists in Map {map_sid}")
        self.map_sid = map_sid
        self.key = key


class UniqueNameTaken(SyncError):
    """Another Map in the Service already has this unique name."""

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


class InvalidData(SyncError):
    """Item data that is not a JSON object."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DataTooLarge(SyncError):
    """Item data whose serialised size exceeds the limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"Map Item data is {size} bytes; the limit is {limit} bytes")
        self.size = size
        self.limit = limit


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
    """A conditional write whose If-Match is not the item's current revision."""

    def __init__(self, key: str, expected: str, actual: str) -> None:
        super().__init__(f"Item {key!r} is at revision {actual!r}, not the expected {expected!r}")
        self.key = key
        self.expected = expected
        self.actual = actual


class NothingToUpdate(SyncError):
    """An update request that changes nothing (or only ``CollectionTtl``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
