"""The words that name requests, shared by faults and the journal, for every kind.

A test says which requests it means the same way whether it schedules a fault
(``sync_faults.conflict(operation="update", document=doc)``) or searches the journal
(``journal.find(operation="update", document=doc)``):

* ``operation``: a short name or an OpenAPI ``operationId`` (``FetchSyncMapItem``,
  ``CreateService``...), or several. The short names ``create``, ``fetch``,
  ``update``, ``delete`` and ``list`` mean the operations on the data of the kind in
  question: Map Items of a Map, List Items of a List, the Document itself, and for a
  Stream its Messages, which can only be published (``create``, or ``publish``).
  With no kind in question they mean those of every kind (``update`` is
  ``UpdateSyncMapItem``, ``UpdateSyncListItem`` and ``UpdateDocument``), so in a test
  of Maps alone they mean the Map Item operations, as they always did. With
  ``kind="service"`` they mean the Service operations;
* ``method``: an HTTP method in any case (``post`` is ``POST``);
* ``kind``: ``service``, ``map``, ``list``, ``document`` or ``stream`` (or several):
  the kind of object a request addressed (a request about a List's items or
  permissions is of kind ``list``). Faults, whose own kind is their first argument,
  take it as ``kind=`` too (``sync_faults.server_error(kind="list")``); the control
  plane, whose JSON ``kind`` names the fault, as ``object_kind``;
* ``map``, ``list``, ``document``, ``stream``: one object, by its SID, its unique
  name, or a handle with ``.sid`` (and ``.unique_name``) such as the ``sync_map``
  fixture or an instance the twilio client returned. It matches a request that
  addressed the object by either name. Each word names its own kind: a handle (or a
  SID) of another kind is refused (``map=sync_list`` is a ``TypeError``);
* ``key`` (a Map item's key), ``index`` (a List item's index, an ``int``),
  ``identity`` (a permission's identity). ``key`` speaks of Maps and ``index`` of
  Lists, so each also puts its kind in question.

A word that names nothing, or words that contradict each other (``list=`` with
``key=``, ``kind="map"`` with ``document=``, ``UpdateDocument`` with ``list=``), are
refused here, so a typo fails loudly instead of silently matching no request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pytest_syncmap.domain.model import KINDS, is_sid

from .exchange import OBJECT_KINDS, kind_of_resource
from .resources import ROUTES

__all__ = [
    "DATA_KINDS",
    "DATA_WRITES",
    "OBJECT_WORDS",
    "OPERATIONS",
    "OPERATION_IDS",
    "SHORT_NAMES",
    "WORDS",
    "OperationInfo",
    "Selector",
    "check_addressable",
    "http_method",
    "object_refs",
    "select",
]


@dataclass(frozen=True)
class OperationInfo:
    """What the routing table says of one operation."""

    id: str
    method: str
    resource: str
    #: ``service``, ``map``, ``list``, ``document`` or ``stream``.
    kind: str | None
    collection: bool
    if_match: bool


#: Every operation the emulator serves, by OpenAPI ``operationId``.
OPERATIONS: dict[str, OperationInfo] = {
    op.id: OperationInfo(
        op.id, method, op.resource, kind_of_resource(op.resource), op.collection, op.if_match
    )
    for route in ROUTES
    for method, op in route.methods.items()
}
#: Every OpenAPI ``operationId`` the emulator serves.
OPERATION_IDS = frozenset(OPERATIONS)
#: The kinds whose data operations short names mean when no kind is in question.
DATA_KINDS = ("map", "list", "document", "stream")
#: The words of an object, each of its own kind.
OBJECT_WORDS = DATA_KINDS
#: Every word a selection takes.
WORDS = ("operation", "method", "kind", *OBJECT_WORDS, "key", "index", "identity")
#: Operation names the journal gives what is not an API request.
_JOURNAL_PREFIXES = ("Webhook ", "Control ")

_VERBS = {
    ("POST", True): "create",
    ("GET", True): "list",
    ("GET", False): "fetch",
    ("POST", False): "update",
    ("DELETE", False): "delete",
}


def _data_resource(kind: str) -> str:
    """The resource that holds a kind's data: its items, its messages, or itself."""
    known = KINDS.get(kind)
    if known is not None and known.items is not None:
        return f"{kind}_item"
    if any(info.resource == f"{kind}_message" for info in OPERATIONS.values()):
        return f"{kind}_message"
    return kind


def _short_names(kind: str) -> dict[str, str]:
    resource = _data_resource(kind)
    names = {
        _VERBS[(info.method, info.collection)]: info.id
        for info in OPERATIONS.values()
        if info.resource == resource and (info.method, info.collection) in _VERBS
    }
    if resource.endswith("_message") and "create" in names:
        names["publish"] = names["create"]
    return names


#: Short operation names per kind (see the module docstring).
SHORT_NAMES: dict[str, dict[str, str]] = {kind: _short_names(kind) for kind in OBJECT_KINDS}
_ALL_SHORT = frozenset(name for names in SHORT_NAMES.values() for name in names)
#: The operations that create, update or delete data (Map and List items, Documents,
#: Stream Messages): what ``JournalEntry.is_write`` means.
DATA_WRITES = frozenset(
    SHORT_NAMES[kind][verb]
    for kind in DATA_KINDS
    for verb in ("create", "update", "delete")
    if verb in SHORT_NAMES[kind]
)
_KIND_NAMES = {"service": "Service", "map": "Map", "list": "List", "document": "Document",
               "stream": "Stream"}  # fmt: skip


class _Target(Protocol):
    """What a selection reads: an :class:`~.exchange.Exchange` or a journal entry."""

    operation: str | None
    method: str
    kind: str | None
    key: str | None
    index: int | None
    identity: str | None

    def object_refs(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Selector:
    """The requests a set of words names; :meth:`matches` tells one of them."""

    #: OpenAPI ids (or journal names); ``None`` for any operation.
    operations: frozenset[str] | None = None
    method: str | None = None
    #: The kinds in question; ``None`` for any (a request of no kind included).
    kinds: frozenset[str] | None = None
    #: Every name of the one object named (empty: any object).
    refs: frozenset[str] = frozenset()
    key: str | None = None
    index: int | None = None
    identity: str | None = None

    def matches(self, target: _Target) -> bool:
        """Whether ``target`` is a request (or journal entry) the words name."""
        if self.operations is not None and target.operation not in self.operations:
            return False
        if self.method is not None and target.method != self.method:
            return False
        if self.kinds is not None and target.kind not in self.kinds:
            return False
        if self.key is not None and target.key != self.key:
            return False
        if self.index is not None and target.index != self.index:
            return False
        if self.identity is not None and target.identity != self.identity:
            return False
        return not self.refs or bool(self.refs & target.object_refs())


def select(words: Mapping[str, Any], *, journal: bool = False) -> Selector:
    """The :class:`Selector` for ``words`` (names from :data:`WORDS`; ``None`` values are
    ignored). With ``journal=True``, the journal's own operation names (``Webhook
    map_created``, ``Control clock``) are accepted too."""
    given = {name: value for name, value in words.items() if value is not None}
    unknown = sorted(set(given) - set(WORDS))
    if unknown:
        raise TypeError(f"unknown word(s) {', '.join(map(repr, unknown))}; use {', '.join(WORDS)}")
    kinds, why = _kinds(given)
    refs: frozenset[str] = frozenset()
    for word in OBJECT_WORDS:
        if word in given:
            refs = object_refs(word, given[word])
    key = given.get("key")
    if key is not None and not isinstance(key, str):
        raise TypeError(f"key must be a string, not {key!r}")
    index = given.get("index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise TypeError(f"index must be an integer (a List item's index), not {index!r}")
    if index is not None and index < 0:
        raise ValueError(f"index cannot be negative, got {index}")
    identity = given.get("identity")
    if identity is not None and not isinstance(identity, str):
        raise TypeError(f"identity must be a string, not {identity!r}")
    if identity is not None and (key is not None or index is not None):
        item = "key= (a Map item's key)" if key is not None else "index= (a List item's index)"
        raise ValueError(f"{item} and identity= (a permission's identity): no request is both")
    operations = None
    if "operation" in given:
        operations = frozenset(operation_ids(given["operation"], kinds, why, journal=journal))
        check_addressable(operations, key, index, identity, f"operation={given['operation']!r}")
    method = http_method(given["method"]) if "method" in given else None
    return Selector(operations, method, kinds, refs, key, index, identity)


def _is_permission(resource: str) -> bool:
    return resource.endswith("_permission")


#: What each item word addresses: the resource of the operations it can be part of.
_ITEM_WORDS: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("key", "a Map item's key", "map_item".__eq__),
    ("index", "a List item's index", "list_item".__eq__),
    ("identity", "a permission's identity", _is_permission),
)


def check_addressable(
    operations: Iterable[str],
    key: str | None,
    index: int | None,
    identity: str | None,
    named: str,
) -> None:
    """Refuse ``key``, ``index`` or ``identity`` with operations none of which is about
    what the word addresses (``identity=`` with ``operation="update"``: no request is
    both). Names that are not API operations (the journal's webhooks) pass."""
    given = {"key": key, "index": index, "identity": identity}
    for word, what, fits in _ITEM_WORDS:
        if given[word] is None:
            continue
        ops = list(operations)
        if any(op not in OPERATIONS or fits(OPERATIONS[op].resource) for op in ops):
            continue
        raise ValueError(
            f"{word}= ({what}) with {named} ({', '.join(sorted(ops))}): no request is both"
        )


def _kinds(given: Mapping[str, Any]) -> tuple[frozenset[str] | None, str]:
    """The kinds the words put in question, and which words did (for messages)."""
    kinds: frozenset[str] | None = None
    why: list[str] = []

    def narrow(these: Iterable[str], word: str) -> None:
        nonlocal kinds
        these = frozenset(these)
        narrowed = these if kinds is None else kinds & these
        if not narrowed:
            raise ValueError(
                f"{word} names {_or(these)} but {' and '.join(why)} named {_or(kinds or ())}: "
                "no request is both"
            )
        kinds = narrowed
        why.append(word)

    if "kind" in given:
        value = given["kind"]
        names = (value,) if isinstance(value, str) else tuple(value)
        for name in names:
            if not isinstance(name, str) or name not in OBJECT_KINDS:
                raise ValueError(f"unknown kind {name!r}: use {', '.join(OBJECT_KINDS)}")
        if not names:
            raise ValueError("kind= names no kind")
        narrow(names, f"kind={value!r}")
    for word in OBJECT_WORDS:
        if word in given:
            narrow((word,), f"{word}=")
    if "key" in given:
        narrow(("map",), "key= (a Map item's key)")
    if "index" in given:
        narrow(("list",), "index= (a List item's index)")
    return kinds, " and ".join(why)


def _or(kinds: Iterable[str]) -> str:
    return " or ".join(sorted(kinds)) or "nothing"


def operation_ids(
    value: str | Iterable[str],
    kinds: frozenset[str] | None = None,
    why: str = "",
    *,
    journal: bool = False,
) -> tuple[str, ...]:
    """The OpenAPI ids that ``value`` (a name, or several) stands for, for ``kinds``.

    A short name means the data operations of ``kinds`` (every data kind when
    ``None``); an OpenAPI id of another kind than ``kinds`` is refused.
    """
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names:
        raise ValueError("operation= names no operation")
    ids: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"an operation is a string, not {type(name).__name__}: {name!r}")
        short = name.lower()
        if short in _ALL_SHORT:
            ids.extend(_short(short, kinds, why))
            continue
        if journal and name.startswith(_JOURNAL_PREFIXES):
            ids.append(name)
            continue
        info = OPERATIONS.get(name)
        if info is None:
            raise ValueError(
                f"unknown operation {name!r}: use {', '.join(sorted(_ALL_SHORT))} or an "
                f"OpenAPI operation id such as {', '.join(sorted(OPERATION_IDS)[:3])}, ..."
            )
        if kinds is not None and info.kind not in kinds:
            raise ValueError(
                f"{name} is a {info.kind} operation, but {why} named {_or(kinds)}: "
                "no request is both"
            )
        ids.append(name)
    return tuple(dict.fromkeys(ids))


def _short(name: str, kinds: frozenset[str] | None, why: str) -> list[str]:
    """The ids a short name means for the kinds in question."""
    among = DATA_KINDS if kinds is None else tuple(k for k in OBJECT_KINDS if k in kinds)
    ids = [SHORT_NAMES[kind][name] for kind in among if name in SHORT_NAMES[kind]]
    if ids:
        return ids
    if among == ("stream",):
        raise ValueError(
            f"operation {name!r} names nothing for a Stream: its messages can only be "
            "published (create or publish); name a Stream operation by its id "
            "(FetchSyncStream, UpdateSyncStream, DeleteSyncStream, ListSyncStream)"
        )
    raise ValueError(f"operation {name!r} names no operation of {_or(among)} ({why})")


def http_method(value: str) -> str:
    """An HTTP method in upper case (``post`` is ``POST``)."""
    if not isinstance(value, str):
        raise TypeError(f"a method is a string, not {type(value).__name__}: {value!r}")
    method = value.strip().upper()
    if not method.isalpha() or not method.isascii():
        raise ValueError(f"{value!r} is not an HTTP method")
    return method


def object_refs(word: str, value: object) -> frozenset[str]:
    """Every name ``value`` (a SID, a unique name, or a handle) is known by, as the
    object ``word`` (``map``, ``list``, ``document``, ``stream``) names."""
    kind = KINDS[word]
    what = _KIND_NAMES[word]
    if isinstance(value, str):
        if is_sid(value) and not value.startswith(kind.prefix):
            raise ValueError(
                f"{word}= takes a {what} SID ({kind.prefix}...) or unique name; {value} is "
                f"the SID of {_sid_kind(value)}"
            )
        return frozenset((value,))
    sid = getattr(value, "sid", None)
    if not isinstance(sid, str):
        raise TypeError(
            f"{word}= takes a {what} SID, a unique name or a {what} handle such as "
            f"sync_{word}, not {type(value).__name__}"
        )
    handle_kind = getattr(value, "kind", None)
    if handle_kind not in OBJECT_KINDS:
        handle_kind = _prefix_kind(sid)
    if handle_kind is not None and handle_kind != word:
        raise TypeError(
            f"{word}= takes a {what}, but it was given a {_KIND_NAMES[handle_kind]} "
            f"({sid}): pass it as {handle_kind}="
        )
    try:
        name = getattr(value, "unique_name", None)
    except Exception:  # a handle whose object is gone may not know it any more
        name = None
    return frozenset((sid, name)) if isinstance(name, str) else frozenset((sid,))


def _prefix_kind(sid: str) -> str | None:
    if not is_sid(sid):
        return None
    for name, kind in KINDS.items():
        if sid.startswith(kind.prefix):
            return name
    return "service" if sid.startswith("IS") else None


def _sid_kind(sid: str) -> str:
    kind = _prefix_kind(sid)
    return f"a {_KIND_NAMES[kind]}" if kind is not None else f"something else ({sid[:2]})"
