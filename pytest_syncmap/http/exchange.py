"""One request and its answer, as the HTTP layer's observers see it.

The app fills an :class:`Exchange` while it answers; fault predicates (``when=``),
observers (e.g. the test suite's schema check) and the journal read it. A ``when=``
predicate sees it *before* the answer: the request fields are filled, the answer
fields (``status``, ``code``, ``body``, ``response_headers``) are still empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Exchange", "Headers"]


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


@dataclass
class Exchange:
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
    * ``service``, ``map``, ``key``: the path parameters as the client sent them
      (``default`` or an ``IS`` SID; a Map SID or unique name; the item key; a
      create's ``Key`` form field), ``None`` where the path has none;
    * ``map_sid``, ``map_name``: the SID and unique name of the Map the request
      addressed, when it exists (known to a predicate that matches by Map and on
      fetches and deletes; always set on the journal entry of a successful answer);
    * ``if_match``: the revision ``If-Match`` asked for, on operations that read it;
    * ``revision_before``: an item's revision before a write of it.

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
    map: str | None = None
    key: str | None = None
    status: int = 0
    code: int | None = None
    body: bytes = b""
    response_headers: dict[str, str] = field(default_factory=dict)
    #: The fault that fired for this request, if any (its kind, or ``canned``).
    fault: str | None = None
    revision_before: str | None = None
    map_sid: str | None = None
    map_name: str | None = None
    #: Why the request was refused, when the code alone does not say (e.g. a 401).
    note: str | None = None

    def map_refs(self) -> frozenset[str]:
        """Every name the addressed Map is known by (as sent, its SID, its unique name)."""
        return frozenset(n for n in (self.map, self.map_sid, self.map_name) if n is not None)
