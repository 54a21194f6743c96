"""When things expire: deadlines in time order, never outgrowing what lives.

Every write that sets, moves or clears a TTL reports the change with :meth:`schedule`.
Nothing scans a collection to find what expired: :meth:`pop_due` takes the deadlines
up to a moment from a heap. Keys sharing a deadline share one heap entry (a bucket), so
100,000 items written in frozen time with one TTL expire with one heap pop and a walk
over their bucket: time in proportion to what expires.

An entry whose key has since been rewritten, deleted or re-created is *stale* and is
skipped when its bucket comes due; so that rewriting one item's TTL 100,000 times does
not leave 100,000 entries behind, the buckets are rebuilt from the live deadlines
whenever stale entries outnumber live ones (amortised O(1) per write).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

__all__ = ["ExpiryQueue"]

K = TypeVar("K", str, int)

#: Stale entries tolerated beyond the live ones before the buckets are rebuilt.
_SLACK = 64


class ExpiryQueue(Generic[K]):
    """Deadlines of one collection's keys; ``current(key)`` says a key's live deadline."""

    __slots__ = ("_buckets", "_current", "_entries", "_live", "_times")

    def __init__(self, current: Callable[[K], datetime | None]) -> None:
        self._current: Callable[[K], datetime | None] = current
        #: Distinct deadlines, as a heap; each has a bucket of keys.
        self._times: list[datetime] = []
        self._buckets: dict[datetime, list[K]] = {}
        self._entries = 0
        self._live = 0

    def __len__(self) -> int:
        """Entries held, stale ones included (bounded by about twice the live ones)."""
        return self._entries

    def schedule(self, key: K, old: datetime | None, new: datetime | None) -> None:
        """``key``'s deadline changes from ``old`` to ``new`` (``None``: no deadline)."""
        if old is not None:
            self._live -= 1
        if new is None:
            return
        self._live += 1
        bucket = self._buckets.get(new)
        if bucket is None:
            self._buckets[new] = [key]
            heapq.heappush(self._times, new)
        else:
            bucket.append(key)
        self._entries += 1
        if self._entries > 2 * self._live + _SLACK:
            self._rebuild()

    def _rebuild(self) -> None:
        current = self._current
        buckets: dict[datetime, list[K]] = {}
        entries = 0
        for when, keys in self._buckets.items():
            live = [key for key in dict.fromkeys(keys) if current(key) == when]
            if live:
                buckets[when] = live
                entries += len(live)
        self._buckets = buckets
        self._times = list(buckets)
        heapq.heapify(self._times)
        self._entries = entries

    def pop_buckets(self, limit: datetime) -> list[tuple[datetime, list[K]]]:
        """Remove and return every bucket with deadline ``<= limit``, stale keys included.

        For a caller that checks liveness itself (a sequential pass over its records
        beats a random lookup per key when most of them are due). One tuple per
        deadline, not per key: a mass expiry allocates no garbage-collected object per
        key, so the cyclic collector never walks the whole heap in the middle of it.
        """
        times, buckets = self._times, self._buckets
        popped: list[tuple[datetime, list[K]]] = []
        while times and times[0] <= limit:
            when = heapq.heappop(times)
            keys = buckets.pop(when)
            self._entries -= len(keys)
            popped.append((when, keys))
        return popped

    def pop_due(self, limit: datetime) -> list[tuple[datetime, K]]:
        """Remove and return every live ``(deadline, key)`` with deadline ``<= limit``.

        The caller removes each returned key from its collection and reports it with
        ``schedule(key, deadline, None)``, as for any other removal.
        """
        current = self._current
        return [
            (when, key)
            for when, keys in self.pop_buckets(limit)
            for key in dict.fromkeys(keys)
            if current(key) == when
        ]

    def released(self, count: int) -> None:
        """``count`` keys taken with :meth:`pop_buckets` left the collection (no deadline)."""
        self._live -= count

    def clear(self) -> None:
        """Forget every deadline."""
        self._times.clear()
        self._buckets.clear()
        self._entries = self._live = 0
