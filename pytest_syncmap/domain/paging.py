"""Cursor paging over a :class:`~.sorted_keys.SortedKeys` index.

Positions are keys (item keys, list indexes, identities, creation numbers), never
offsets, so records added or removed between two page requests neither repeat nor
skip the others; and a page starting anywhere costs a binary search plus the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .records import Page
from .sorted_keys import SortedKeys

__all__ = ["page"]

K = TypeVar("K", str, int)
V = TypeVar("V")


def page(
    index: SortedKeys[K],
    accept: Callable[[K], V | None],
    key_of: Callable[[V], K],
    *,
    limit: int,
    descending: bool = False,
    start: K | None = None,
    start_inclusive: bool = True,
    after: K | None = None,
    before: K | None = None,
    before_inclusive: bool = False,
) -> Page[V]:
    """One page of ``index`` in order (or reversed), never scanning beyond it.

    ``start``/``start_inclusive`` is the listing's lower bound (``From``/``Bounds``);
    ``after`` continues after a cursor (next page); ``before`` ends before one
    (previous page).
    """
    outside = _outside_bound(start, start_inclusive, descending)

    def bounded(key: K) -> V | None:
        return None if outside is not None and outside(key) else accept(key)

    if before is not None:
        records, more = index.window(
            before, inclusive=before_inclusive, descending=not descending, limit=limit,
            accept=accept, stop=outside,
        )  # fmt: skip
        if records:
            records.reverse()
            first, last = key_of(records[0]), key_of(records[-1])
            has_next = index.any_beyond(last, descending=descending, accept=accept)
            return Page(records, has_next, more, first, last)
        # Nothing lies before the cursor any more: the previous page is the first.
        after = None
    if after is not None:
        records, more = index.window(
            after, inclusive=False, descending=descending, limit=limit, accept=bounded
        )
    else:
        records, more = index.window(
            start, inclusive=start_inclusive, descending=descending, limit=limit, accept=accept
        )
    first_key = key_of(records[0]) if records else None
    last_key = key_of(records[-1]) if records else None
    if first_key is not None:
        has_previous = index.any_beyond(
            first_key, descending=not descending, accept=accept, stop=outside
        )
        return Page(records, more, has_previous, first_key, last_key)
    # An empty page read after a cursor: what precedes it ends at the cursor itself.
    has_previous = after is not None and (
        bounded(after) is not None
        or index.any_beyond(after, descending=not descending, accept=accept, stop=outside)
    )
    return Page(records, more, has_previous, after, None, first_inclusive=True)


def _outside_bound(
    start: K | None, inclusive: bool, descending: bool
) -> Callable[[K], bool] | None:
    """A test for keys on the wrong side of ``From`` (``None`` when there is no bound)."""
    if start is None:
        return None
    low = start

    def outside(key: K) -> bool:
        if key == low:
            return not inclusive
        return key > low if descending else key < low

    return outside
