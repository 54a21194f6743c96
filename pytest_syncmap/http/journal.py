"""The request journal: what the emulator was asked, what it answered, which fault fired.

Bounded in memory (the oldest entries go first, like WireMock's capped journal) and
cleared with the rest of the state between tests, so it always holds the current
test's conversation. Queries return lists of :class:`JournalEntry`; :meth:`Journal.table`
renders the short table that failure reports show.

Queries speak the words faults speak (:mod:`.vocabulary`), for every kind:
``find(operation="update")``, ``find(method="post")``, ``find(document=doc)``,
``find(list=chat, index=3)``, ``find(kind="stream")`` mean what they mean in
``sync_faults.conflict(operation="update", document=doc)``. A criterion the journal
does not know is a ``TypeError`` rather than a query that silently matches nothing.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .exchange import Addressed, Exchange
from .vocabulary import DATA_WRITES, WORDS, select

__all__ = ["Journal", "JournalEntry"]

#: Entries kept by default; the oldest are dropped first.
DEFAULT_JOURNAL_SIZE = 1000


@dataclass(slots=True)
class JournalEntry(Addressed):
    """One request and its answer (or one webhook delivery).

    What it addressed is told as on the :class:`~.exchange.Exchange`: ``kind``,
    ``object``, ``object_sid``, ``object_name``, ``key``, ``index``, ``identity``, and
    for Maps ``map``, ``map_sid``, ``map_name`` (see :class:`~.exchange.Addressed`).
    A webhook delivery addresses the object of its event (and the item's key or index).
    """

    seq: int
    method: str
    path: str
    operation: str | None
    key: str | None = None
    form: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    if_match: str | None = None
    status: int = 0
    code: int | None = None
    #: The revision of the Map item, List item or Document before and after.
    revision_before: str | None = None
    revision_after: str | None = None
    fault: str | None = None
    #: The Service as the path addressed it (``default`` or an ``IS`` SID).
    service: str | None = None
    kind: str | None = None
    object: str | None = None
    object_sid: str | None = None
    object_name: str | None = None
    index: int | None = None
    identity: str | None = None
    #: Why the request was refused, when the code alone does not say (e.g. a 401).
    note: str | None = None

    @classmethod
    def from_exchange(
        cls,
        seq: int,
        exchange: Exchange,
        *,
        revision_before: str | None,
        revision_after: str | None,
    ) -> JournalEntry:
        """The entry of an answered :class:`~.exchange.Exchange`."""
        return cls(
            seq=seq,
            method=exchange.method,
            path=exchange.path,
            operation=exchange.operation,
            key=exchange.key,
            form=exchange.form,
            query=exchange.query,
            if_match=exchange.if_match,
            status=exchange.status,
            code=exchange.code,
            revision_before=revision_before,
            revision_after=revision_after,
            fault=exchange.fault,
            service=exchange.service,
            kind=exchange.kind,
            object=exchange.object,
            object_sid=exchange.object_sid,
            object_name=exchange.object_name,
            index=exchange.index,
            identity=exchange.identity,
            note=exchange.note,
        )

    def as_dict(self) -> dict[str, Any]:
        """Every field, and ``map``, ``map_sid``, ``map_name``, as plain JSON values."""
        fields = dataclasses.asdict(self)
        fields.update(map=self.map, map_sid=self.map_sid, map_name=self.map_name)
        return fields

    @property
    def ok(self) -> bool:
        """Whether the answer was a 2xx."""
        return 200 <= self.status < 300

    @property
    def is_write(self) -> bool:
        """Whether the request created, updated or deleted data: a Map or List item, a
        Document, or published a Stream Message."""
        return self.operation in DATA_WRITES

    def matches(self, **criteria: Any) -> bool:
        """Whether the entry meets every criterion (see :meth:`Journal.find`)."""
        return _compile(criteria)(self)

    def line(self) -> str:
        """One table row: a webhook delivery shows its event where a request shows its
        path, and every row what it addressed (``list chat[3]``, ``map[k]``)."""
        code = "" if self.code is None else str(self.code)
        rev = ""
        if self.revision_before is not None or self.revision_after is not None:
            rev = f"{self.revision_before or '-'}->{self.revision_after or '-'}"
        path = self.path
        if self.operation is not None and self.operation.startswith(_WEBHOOK):
            path = "webhook " + self.operation[len(_WEBHOOK) :]
        return (
            f"{self.seq:>4} {self.method:<6} {_clip(path, _PATH):<{_PATH}} {self.status:>3} "
            f"{code:>5} {rev:<9} {_clip_end(self.addressed(), _OBJECT):<{_OBJECT}} "
            f"{self.fault or ''}" + (f"  {self.note}" if self.note else "")
        ).rstrip()


#: Widths of the table's path and object columns.
_PATH, _OBJECT = 60, 22
_WEBHOOK = "Webhook "


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def _clip_end(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


class Journal:
    """A bounded, thread-safe log of :class:`JournalEntry`."""

    def __init__(self, size: int = DEFAULT_JOURNAL_SIZE) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._seq = 0
        #: How many entries were dropped because the journal was full.
        self.dropped = 0

    def next_seq(self) -> int:
        """A fresh sequence number for an entry about to be recorded."""
        with self._lock:
            self._seq += 1
            return self._seq

    def record(self, entry: JournalEntry) -> None:
        """Append an entry (dropping the oldest when full)."""
        with self._lock:
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            self._entries.append(entry)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._seq = 0
            self.dropped = 0

    @property
    def entries(self) -> list[JournalEntry]:
        """All entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, **criteria: Any) -> list[JournalEntry]:
        """Entries that meet every criterion, oldest first, e.g. ``find(key="k", status=412)``.

        The words of :mod:`.vocabulary`, as faults take them: ``operation`` (a short
        name such as ``update``, an OpenAPI id, or several), ``method`` (any case),
        ``kind``, ``map``/``list``/``document``/``stream`` (a SID, a unique name or a
        handle; matches the object however the request addressed it), ``key``,
        ``index``, ``identity``. Any other :class:`JournalEntry` field (or ``ok``,
        ``is_write``, ``map_sid``, ``map_name``) is compared for equality. ``None``
        values are ignored. An unknown criterion raises ``TypeError``.
        """
        test = _compile(criteria)
        return [e for e in self.entries if test(e)]

    def last(self, **criteria: Any) -> JournalEntry | None:
        """The newest entry matching ``criteria``, if any."""
        found = self.find(**criteria)
        return found[-1] if found else None

    def unexpected_failures(self, allow: int | Iterable[int] = ()) -> list[JournalEntry]:
        """API requests answered 4xx/5xx that no fault asked for and ``allow`` does not.

        ``allow`` holds expected HTTP statuses (below 1000, e.g. ``404``) or Twilio
        error codes (e.g. ``54201``). Webhook deliveries and canned answers are not
        API answers and never count.
        """
        allowed = {allow} if isinstance(allow, int) else set(allow)
        for value in allowed:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"allow= takes HTTP statuses or Twilio codes, not {value!r}")
        return [
            e
            for e in self.entries
            if e.status >= 400
            and e.fault is None
            and e.status not in allowed
            and (e.code is None or e.code not in allowed)
            and not (e.operation or "").startswith("Webhook ")
        ]

    @staticmethod
    def table(entries: Iterable[JournalEntry], limit: int = 50) -> str:
        """A short fixed-width table: seq, method, path (a webhook's event), status, code,
        revisions, what was addressed (kind, unique name, key or index), fault."""
        rows = list(entries)
        header = (
            f"{'#':>4} {'method':<6} {'path':<{_PATH}} {'st':>3} {'code':>5} {'rev':<9} "
            f"{'object':<{_OBJECT}} fault"
        )
        lines = [header]
        if len(rows) > limit:
            lines.append(f"     ... {len(rows) - limit} earlier request(s) not shown")
            rows = rows[-limit:]
        lines.extend(e.line() for e in rows)
        if len(rows) == 0:
            lines.append("     (no requests)")
        return "\n".join(lines)


#: What a criterion may name: the words, every field, and some properties.
_FIELDS = (
    frozenset(f.name for f in dataclasses.fields(JournalEntry))
    | frozenset(WORDS)
    | {"ok", "is_write", "map_sid", "map_name"}
)


def _compile(criteria: dict[str, Any]) -> Callable[[JournalEntry], bool]:
    """One test for all ``criteria``, their words checked once (see :meth:`Journal.find`)."""
    unknown = sorted(set(criteria) - _FIELDS)
    if unknown:
        raise TypeError(
            f"unknown journal criteria {', '.join(map(repr, unknown))}; use "
            f"{', '.join(sorted(_FIELDS))}"
        )
    selector = select({k: v for k, v in criteria.items() if k in WORDS}, journal=True)
    others = [(k, v) for k, v in criteria.items() if k not in WORDS and v is not None]

    def test(entry: JournalEntry) -> bool:
        return selector.matches(entry) and all(getattr(entry, k) == v for k, v in others)

    return test
