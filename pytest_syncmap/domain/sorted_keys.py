"""Sorted keys with logarithmic positioning and cheap removal: the basis of every cursor.

Item keys, list indexes, permission identities and creation numbers are kept sorted so
that a page starting anywhere costs a binary search plus the page itself. A plain
sorted list would make each removal an O(n) memory move, so mass expiry of n items
would cost O(n^2); here the keys live in blocks of at most :data:`BLOCK` keys with an
index of each block's largest key (the layout of ``sortedcontainers``), so an insert or
a removal moves at most one block.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["BLOCK", "SortedKeys"]

K = TypeVar("K", str, int)
V = TypeVar("V")

#: Largest block; a full block is split in two.
BLOCK = 1000


class SortedKeys(Generic[K]):
    """A set of keys kept in sorted order, read by windows from any position."""

    __slots__ = ("_blocks", "_len", "_maxes")

    def __init__(self) -> None:
        self._blocks: list[list[K]] = []
        self._maxes: list[K] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[K]:
        for block in self._blocks:
            yield from block

    def __contains__(self, key: object) -> bool:
        if not self._maxes or not isinstance(key, type(self._maxes[0])):
            return False
        b = bisect_left(self._maxes, key)
        if b == len(self._maxes):
            return False
        block = self._blocks[b]
        i = bisect_left(block, key)
        return i < len(block) and block[i] == key

    def add(self, key: K) -> None:
        """Insert ``key`` (nothing happens if it is already there)."""
        maxes = self._maxes
        if not maxes:
            self._blocks.append([key])
            maxes.append(key)
            self._len = 1
            return
        if maxes[-1] < key:  # appending: the common case for indexes and creation numbers
            b = len(maxes) - 1
            block = self._blocks[b]
            block.append(key)
            maxes[b] = key
        else:
            b = bisect_left(maxes, key)
            block = self._blocks[b]
            i = bisect_left(block, key)
            if i < len(block) and block[i] == key:
                return
            insort(block, key)
        self._len += 1
        if len(block) > BLOCK:
            half = len(block) // 2
            self._blocks[b : b + 1] = [block[:half], block[half:]]
            maxes[b : b + 1] = [block[half - 1], block[-1]]

    def remove(self, key: K) -> None:
        """Remove ``key`` if it is there."""
        maxes = self._maxes
        b = bisect_left(maxes, key)
        if b == len(maxes):
            return
        block = self._blocks[b]
        i = bisect_left(block, key)
        if i == len(block) or block[i] != key:
            return
        del block[i]
        self._len -= 1
        if not block:
            del self._blocks[b]
            del maxes[b]
        elif i == len(block):
            maxes[b] = block[-1]

    def discard_many(self, keys: list[K]) -> None:
        """Remove every key of ``keys`` that is there.

        Removing a large share of the keys rebuilds the blocks in one pass instead of
        moving memory once per key, so mass expiry stays linear.
        """
        if len(keys) * 8 < self._len:
            for key in keys:
                self.remove(key)
            return
        gone = set(keys)
        kept = [key for key in self if key not in gone]
        half = BLOCK // 2
        self._blocks = [kept[i : i + half] for i in range(0, len(kept), half)]
        self._maxes = [block[-1] for block in self._blocks]
        self._len = len(kept)

    def clear(self) -> None:
        """Remove every key."""
        self._blocks.clear()
        self._maxes.clear()
        self._len = 0

    # ------------------------------------------------------------------ reads
    def _position(self, key: K, *, after: bool) -> tuple[int, int]:
        """(block, offset) of the first key ``>= key`` (``> key`` when ``after``)."""
        maxes = self._maxes
        b = (bisect_right if after else bisect_left)(maxes, key)
        if b == len(maxes):
            return b, 0
        block = self._blocks[b]
        return b, (bisect_right if after else bisect_left)(block, key)

    def _scan(self, start: K | None, *, inclusive: bool, descending: bool) -> Iterator[K]:
        """Keys from ``start`` on in the scan direction (all of them when ``None``)."""
        blocks = self._blocks
        if not descending:
            if start is None:
                b, i = 0, 0
            else:
                b, i = self._position(start, after=not inclusive)
            while b < len(blocks):
                block = blocks[b]
                while i < len(block):
                    yield block[i]
                    i += 1
                b, i = b + 1, 0
            return
        if start is None:
            b = len(blocks) - 1
            i = len(blocks[b]) - 1 if blocks else -1
        else:
            # The last key <= start (< start when exclusive) is just before the first
            # key > start (>= start when exclusive).
            b, i = self._position(start, after=inclusive)
            i -= 1
            if i < 0:
                b -= 1
                i = len(blocks[b]) - 1 if b >= 0 else -1
        while b >= 0:
            block = blocks[b]
            while i >= 0:
                yield block[i]
                i -= 1
            b -= 1
            i = len(blocks[b]) - 1 if b >= 0 else -1

    def window(
        self,
        start: K | None,
        *,
        inclusive: bool,
        descending: bool,
        limit: int,
        accept: Callable[[K], V | None],
        stop: Callable[[K], bool] | None = None,
    ) -> tuple[list[V], bool]:
        """Up to ``limit`` accepted values from ``start`` on, and whether more follow.

        ``accept`` maps a key to its value, or ``None`` to skip it; the scan ends early
        at the first key for which ``stop`` is true.
        """
        out: list[V] = []
        for key in self._scan(start, inclusive=inclusive, descending=descending):
            if stop is not None and stop(key):
                return out, False
            value = accept(key)
            if value is not None:
                if len(out) >= limit:
                    return out, True
                out.append(value)
        return out, False

    def any_beyond(
        self,
        key: K,
        *,
        descending: bool,
        accept: Callable[[K], object | None],
        stop: Callable[[K], bool] | None = None,
    ) -> bool:
        """Whether an accepted key lies strictly after ``key`` in the scan direction."""
        return self.window(
            key, inclusive=False, descending=descending, limit=0, accept=accept, stop=stop
        )[1]
