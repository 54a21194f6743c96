"""The words that name requests, shared by faults and the journal.

A test says which requests it means the same way whether it schedules a fault
(``sync_faults.conflict(operation="update", map=sync_map)``) or searches the journal
(``journal.find(operation="update", map=sync_map)``):

* an **operation** is a short name (``create``, ``fetch``, ``update``, ``delete``,
  ``list``: the Map Item operations, the ones tests mostly mean) or an OpenAPI
  ``operationId`` of the API (``FetchSyncMapItem``, ``CreateService``...);
* a **method** is an HTTP method in any case (``post`` is ``POST``);
* a **Map** is its SID, its unique name, or a handle with ``.sid`` (and
  ``.unique_name``), such as the ``sync_map`` fixture; it matches a request that
  addressed the Map by either name.

A word that names nothing is refused here, so a typo fails loudly instead of
silently matching no request.
"""

from __future__ import annotations

from collections.abc import Iterable

from .resources import ROUTES

__all__ = ["OPERATION_ALIASES", "OPERATION_IDS", "http_method", "map_refs", "operation_ids"]

#: Short operation names, for the Map Item operations.
OPERATION_ALIASES = {
    "create": "CreateSyncMapItem",
    "fetch": "FetchSyncMapItem",
    "update": "UpdateSyncMapItem",
    "delete": "DeleteSyncMapItem",
    "list": "ListSyncMapItem",
}
#: Every OpenAPI ``operationId`` the emulator serves.
OPERATION_IDS = frozenset(op.id for route in ROUTES for op in route.methods.values())
#: Operation names the journal gives what is not an API request.
_JOURNAL_PREFIXES = ("Webhook ", "Control ")


def operation_ids(value: str | Iterable[str], *, journal: bool = False) -> tuple[str, ...]:
    """The OpenAPI ids that ``value`` (a name, or several) stands for.

    With ``journal=True``, the journal's own names (``Webhook map_created``,
    ``Control clock``) are accepted too.
    """
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names:
        raise ValueError("operation= names no operation")
    ids = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"an operation is a string, not {type(name).__name__}: {name!r}")
        op = OPERATION_ALIASES.get(name.lower(), name)
        if op not in OPERATION_IDS and not (journal and op.startswith(_JOURNAL_PREFIXES)):
            raise ValueError(
                f"unknown operation {name!r}: use {', '.join(OPERATION_ALIASES)} or an "
                f"OpenAPI operation id such as {', '.join(sorted(OPERATION_IDS)[:3])}, ..."
            )
        ids.append(op)
    return tuple(ids)


def http_method(value: str) -> str:
    """An HTTP method in upper case (``post`` is ``POST``)."""
    if not isinstance(value, str):
        raise TypeError(f"a method is a string, not {type(value).__name__}: {value!r}")
    method = value.strip().upper()
    if not method.isalpha() or not method.isascii():
        raise ValueError(f"{value!r} is not an HTTP method")
    return method


def map_refs(value: object) -> frozenset[str]:
    """Every name ``value`` (a SID, a unique name, or a Map handle) is known by."""
    if isinstance(value, str):
        return frozenset((value,))
    sid = getattr(value, "sid", None)
    if not isinstance(sid, str):
        raise TypeError(
            "map= takes a Map SID, a unique name or a Map handle such as sync_map, "
            f"not {type(value).__name__}"
        )
    try:
        name = getattr(value, "unique_name", None)
    except Exception:  # a handle whose Map is gone may not know it any more
        name = None
    return frozenset((sid, name)) if isinstance(name, str) else frozenset((sid,))
