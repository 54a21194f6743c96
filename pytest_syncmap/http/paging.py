"""List pages: reading ``PageSize``/``Page``/``PageToken``, and writing the ``meta`` block.

Every list operation reads the same three parameters and answers the same envelope
(``SYNC_API.md`` 3.10): ``{<key>: [...], "meta": {first_page_url, key, next_page_url,
page, page_size, previous_page_url, url}}``. The ``meta`` URLs are absolute on the
emulator, echo the path and the filters the client sent, and carry an opaque cursor
(``PageToken``) rather than an offset, so pages stay correct while records come and go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pytest_syncmap.domain.choices import Choices
from pytest_syncmap.domain.model import Page

from .api import Call
from .params import (
    decode_page_token,
    encode_page_token,
    parse_enum,
    parse_page,
    parse_page_size,
)
from .render import list_json

__all__ = ["ItemQuery", "Paging", "list_page", "read_item_query", "read_paging"]


@dataclass(frozen=True)
class Paging:
    """What a list request asked for: page size, page number and cursor."""

    size: int
    page_no: int
    #: Continue after this position (next page) ...
    after: Any = None
    #: ... or end before it (previous page), including it when ``before_inclusive``.
    before: Any = None
    before_inclusive: bool = False

    @property
    def cursor(self) -> dict[str, Any]:
        """The cursor as the domain's ``page()`` methods take it (``after``, ``before``,
        ``before_inclusive``)."""
        return {
            "after": self.after,
            "before": self.before,
            "before_inclusive": self.before_inclusive,
        }


def read_paging(call: Call, choices: Choices, kind: type[str] | type[int]) -> Paging:
    """``PageSize``, ``Page`` and the ``PageToken`` cursor (positions of type ``kind``).

    A previous page may have to end *at* its cursor rather than before it
    (``before_inclusive``): that is when the page it was read from was empty.
    """
    query = call.query
    size = parse_page_size(query, choices)
    page_no = parse_page(query)
    after = before = None
    inclusive = False
    token = query.get("PageToken")
    if token:
        direction, position = decode_page_token(token, kind, choices)
        if direction == "next":
            after = position
        else:
            before, inclusive = position, direction == "previous_inclusive"
    return Paging(size, page_no, after, before, inclusive)


@dataclass(frozen=True)
class ItemQuery:
    """What an item listing asked for besides paging: ``Order``, ``From``, ``Bounds``."""

    descending: bool
    #: ``From``, parsed (``None`` when absent or empty: an empty value is not sent).
    start: Any
    start_inclusive: bool
    #: The filters as sent, echoed in the ``meta`` URLs.
    filters: list[tuple[str, str]]

    @property
    def bounds(self) -> dict[str, Any]:
        """The query as the domain's item ``page()`` methods take it."""
        return {
            "descending": self.descending,
            "start": self.start,
            "start_inclusive": self.start_inclusive,
        }


def read_item_query(
    call: Call, choices: Choices, parse_from: Callable[[str], Any] = str
) -> ItemQuery:
    """``Order``, ``From`` (read with ``parse_from``) and ``Bounds`` of an item listing."""
    query = call.query
    order = parse_enum(query, "Order", ("asc", "desc"), choices)
    bounds = parse_enum(query, "Bounds", ("inclusive", "exclusive"), choices)
    raw_from = query.get("From")
    return ItemQuery(
        descending=order == "desc",
        start=parse_from(raw_from) if raw_from else None,
        start_inclusive=bounds == "inclusive",
        filters=[(name, query[name]) for name in ("Order", "From", "Bounds") if query.get(name)],
    )


def list_page(
    call: Call,
    key: str,
    records: list[str],
    page: Page[Any],
    paging: Paging,
    filters: Sequence[tuple[str, str]] = (),
) -> str:
    """The list envelope: the records (JSON texts) under ``key``, and ``meta``."""
    prefix = f"{call.base}{call.raw_path}?"
    size, page_no = paging.size, paging.page_no

    def url(number: int, token: str | None) -> str:
        params = [*filters, ("PageSize", str(size)), ("Page", str(number))]
        if token is not None:
            params.append(("PageToken", token))
        return prefix + urlencode(params)

    current_token = call.query.get("PageToken") or None
    meta = {
        "first_page_url": url(0, None),
        "key": key,
        "next_page_url": (
            url(page_no + 1, encode_page_token("next", page.last))
            if page.has_next and page.last is not None
            else None
        ),
        "page": page_no,
        "page_size": size,
        "previous_page_url": (
            url(
                max(page_no - 1, 0),
                encode_page_token(
                    "previous_inclusive" if page.first_inclusive else "previous", page.first
                ),
            )
            if page.has_previous and page.first is not None
            else None
        ),
        "url": url(page_no, current_token),
    }
    return list_json(key, records, meta)
