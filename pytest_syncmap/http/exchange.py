"""One request and its answer, as the HTTP layer's observers see it.

The app fills an :class:`Exchange` while it answers; fault predicates (``when=``),
observers (e.g. the test suite's schema check) and the journal read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Exchange"]


@dataclass
class Exchange:
    """One request the emulator answered, as observers see it."""

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
    #: Why the request was refused, when the code alone does not say (e.g. a 401).
    note: str | None = None
