"""One request and its answer, as the HTTP layer's observers see it.

The app fills an :class:`Exchange` while it answers; fault predicates (``when=``),
observers (e.g. the test suite's schema check) and the journal read it. A ``when=``
predicate sees it *before* the answer: the request fields are filled, the answer
fields (``status``, ``code``, ``body``, ``response_headers``) are still empty.

What a request addressed is told the same way for every kind of Sync object, on the
exchange and on its journal entry (:class:`Addressed`): ``kind``, ``object``,
``object_sid``, ``object_name``, ``key``, ``index``, ``identity``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["OBJECT_KINDS", "Addressed", "Exchange", "Headers", "kind_of_resource"]

#: The kinds of thing a request can address, as ``Exchange.kind`` names them.
OBJECT_KINDS = ("service", "map", "list", "document", "stream")


def kind_of_resource(resource: str) -> str | None:
    """The object kind of a routing ``Operation.resource`` (``list_item`` is ``list``)."""
    kind = resource.split("_", 1)[0]
    return kind if kind in OBJECT_KINDS else None


class Headers(dict[str, str]):
    """Request headers by name, looked up in any case (``headers["if-match"]``).

    Names are stored the way HTTP usually spells them (``If-Match``,
    ``X-Twilio-Client``); ``get``, ``in`` and ``[]`` accept any case.
    """

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((name.title(), value) for name, value in items)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.title())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.title())

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """The header's value, or ``default``."""
        return super().get(name.title(), default)


class Addressed:
    """What a request (or a webhook delivery) addressed, the same for every kind.

    * ``kind``: ``service``, ``map``, ``list``, ``document``, ``stream``, or ``None``
      (the control plane, a path no route takes, a canned answer). A request about
      an object's items or permissions, or a Stream's messages, is of the object's
      kind; a create or a listing of objects is of the kind it creates or lists;
    * ``object``: the object as the path addressed it (its SID or unique name; a
      Service SID or ``default`` for ``service``), ``None`` when the path names none;
    * ``object_sid``, ``object_name``: the object's SID and unique name, resolved
      without creating anything (known to a predicate that matches by object, on
      deletes of the object, on the journal entry of every successful answer, of an
      object create too, and of an answer that proves the object exists, such as a
      412 or an item 404);
    * ``key``: a Map item's key (a create's ``Key`` form field);
    * ``index``: a List item's index (an ``int``; a create's, once answered);
    * ``identity``: the identity of a permission request.

    ``map``, ``map_sid`` and ``map_name`` are ``object``, ``object_sid`` and
    ``object_name`` of a request about a Map (``None`` for other kinds).
    """

    __slots__ = ()

    kind: str | None
    object: str | None
    object_sid: str | None
    object_name: str | None
    key: str | None
    index: int | None
    identity: str | None

    @property
    def map(self) -> str | None:
        """The Map as the path addressed it (a Map request's ``object``)."""
        return self.object if self.kind == "map" else None

    @property
    def map_sid(self) -> str | None:
        """The SID of the Map the request addressed, when known."""
        return self.object_sid if self.kind == "map" else None

    @property
    def map_name(self) -> str | None:
        """The unique name of the Map the request addressed, when known."""
        return self.object_name if self.kind == "map" else None

    def object_refs(self) -> frozenset[str]:
        """Every name the addressed object is known by (as sent, its SID, its name)."""
        return frozenset(
            n for n in (self.object, self.object_sid, self.object_name) if n is not None
        )

    def map_refs(self) -> frozenset[str]:
        """Every name the addressed Map is known by (empty for other kinds)."""
        return self.object_refs() if self.kind == "map" else frozenset()

    def addressed(self) -> str:
        """A short text of what was addressed: the kind, the object's unique name when
        known, and the item: ``map[k]``, ``list chat[3]``, ``document doc``,
        ``map cart perm[ann]``; empty when the request addressed no kind."""
        if self.kind is None:
            return ""
        text = self.kind if self.object_name is None else f"{self.kind} {self.object_name}"
        if self.key is not None:
            return f"{text}[{self.key}]"
        if self.index is not None:
            return f"{text}[{self.index}]"
        if self.identity is not None:
            return f"{text} perm[{self.identity}]"
        return text


@dataclass(slots=True)
class Exchange(Addressed):
    """One request the emulator answered (or is answering), as observers see it.

    Request fields, filled before faults are picked:

    * ``method``: the HTTP method in upper case (``GET``, ``POST``...);
    * ``path``: the percent-decoded path (``/v1/Services/IS.../Maps/m/Items/k``);
    * ``query``: query parameters, first value of each name;
    * ``form``: form parameters of a POST, first value of each name (``Data`` is
      the JSON text the client sent);
    * ``headers``: request :class:`Headers` (any-case lookup);
    * ``operation``: the OpenAPI operation id (``UpdateSyncMapItem``...), or
      ``Control <name>`` for the ``/_syncmap/`` control plane;
    * ``service``: the Service as the path addressed it (``default`` or an ``IS``
      SID), ``None`` where the path has none;
    * what it addressed: ``kind``, ``object``, ``object_sid``, ``object_name``,
      ``key``, ``index``, ``identity`` (see :class:`Addressed`), and for Maps
      ``map``, ``map_sid``, ``map_name``;
    * ``if_match``: the revision ``If-Match`` asked for, on operations that read it;
    * ``revision_before``: the revision of the Map item, List item or Document a
      conditional write (If-Match operation) found before it ran.

    Answer fields, filled once it is answered: ``status``, ``code`` (the Twilio error
    code of an error), ``body`` (bytes), ``response_headers`` and ``fault`` (the kind
    of the fault that fired, ``canned`` for an ``expect_request`` answer).
    """

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    operation: str | None = None
    if_match: str | None = None
    service: str | None = None
    kind: str | None = None
    object: str | None = None
    object_sid: str | None = None
    object_name: str | None = None
    key: str | None = None
    index: int | None = None
    identity: str | None = None
    status: int = 0
    code: int | None = None
    body: bytes = b""
    response_headers: dict[str, str] = field(default_factory=dict)
    #: The fault that fired for this request, if any (its kind, or ``canned``).
    fault: str | None = None
    revision_before: str | None = None
    #: Why the request was refused, when the code alone does not say (e.g. a 401).
    note: str | None = None
