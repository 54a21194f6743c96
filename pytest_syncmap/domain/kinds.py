"""The four kinds of Sync object and where Twilio makes them differ.

Maps, Lists, Documents and Streams share unique names, TTLs, creation order, events and
(except Streams) permissions; a :class:`Kind` names what is particular to each: its SID
prefix, its record type, its not-found error, whether it holds items (keyed by a string
for Maps, indexed from 0 for Lists) and whether it holds data of its own (Documents).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import DocumentNotFound, ListNotFound, MapNotFound, ObjectNotFound, StreamNotFound
from .records import DocumentRecord, ListRecord, MapRecord, ObjectRecord, StreamRecord

__all__ = ["DOCUMENT", "KINDS", "LIST", "MAP", "STREAM", "Kind"]


@dataclass(frozen=True)
class Kind:
    """What distinguishes one kind of Sync object."""

    #: ``map``, ``list``, ``document`` or ``stream`` (the prefix of its event names).
    name: str
    #: SID prefix: ``MP``, ``ES``, ``ET``, ``TO``.
    prefix: str
    record: type[ObjectRecord]
    not_found: type[ObjectNotFound]
    #: ``keyed`` (Map items by key), ``indexed`` (List items by index) or ``None``.
    items: Literal["keyed", "indexed"] | None
    #: Whether identities can be given permissions on it.
    permissions: bool
    #: Whether writes count revisions (a Stream shows none).
    revisions: bool


MAP = Kind("map", "MP", MapRecord, MapNotFound, "keyed", permissions=True, revisions=True)
LIST = Kind("list", "ES", ListRecord, ListNotFound, "indexed", permissions=True, revisions=True)
DOCUMENT = Kind(
    "document", "ET", DocumentRecord, DocumentNotFound, None, permissions=True, revisions=True
)
STREAM = Kind(
    "stream", "TO", StreamRecord, StreamNotFound, None, permissions=False, revisions=False
)

#: Every kind by name.
KINDS: dict[str, Kind] = {kind.name: kind for kind in (MAP, LIST, DOCUMENT, STREAM)}
