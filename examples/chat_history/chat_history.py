"""A chat room's history kept in a Twilio Sync List named ``chat-<room>``.

Each message is one List Item holding its author and text. Twilio gives every new
item the List's next index, so indexes follow the order messages were posted; a
moderator removing a message leaves a gap, and indexes are never reused.

A client opening the room loads the newest page, then scrolls back one page at a
time. Each page is one request (``sync_list_items.page()``, newest first), and the
cursor to scroll back from is the oldest index shown, not an offset: messages posted
or removed meanwhile never shift or repeat the pages still to come. An export reads
the whole history oldest first by following ``next_page()``; a search lets
``list()`` do the paging.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


@dataclass(frozen=True)
class Message:
    index: int
    author: str
    text: str


@dataclass(frozen=True)
class HistoryPage:
    """Messages oldest first, and the index to scroll back from (``None``: the start)."""

    messages: list[Message]
    older_than: int | None


class ChatHistory:
    def __init__(
        self,
        client: Client,
        service_sid: str,
        room: str,
        *,
        page_size: int = 20,
        message_ttl: int | None = None,
    ) -> None:
        self.page_size = page_size
        self.message_ttl = message_ttl
        lists = client.sync.v1.services(service_sid).sync_lists
        self._items = lists(f"chat-{room}").sync_list_items

    def post(self, author: str, text: str) -> Message:
        """Append a message; it gets the next index."""
        options: dict[str, Any] = {} if self.message_ttl is None else {"ttl": self.message_ttl}
        return _message(self._items.create(data={"author": author, "text": text}, **options))

    def latest(self) -> HistoryPage:
        """The newest page of the room."""
        return self._newest_first(self._items.page(order="desc", page_size=self.page_size))

    def before(self, index: int) -> HistoryPage:
        """The page of messages just older than ``index`` (scrolling back)."""
        page = self._items.page(
            order="desc", from_=str(index), bounds="exclusive", page_size=self.page_size
        )
        return self._newest_first(page)

    def export(self) -> Iterator[Message]:
        """Every message, oldest first, one page (one request) at a time."""
        page = self._items.page(order="asc", page_size=self.page_size)
        while page is not None:
            for item in page:
                yield _message(item)
            page = page.next_page()

    def by_author(self, author: str) -> list[Message]:
        """The messages of one author, oldest first (``list()`` follows the pages)."""
        items = self._items.list(page_size=self.page_size)
        return [m for m in map(_message, items) if m.author == author]

    def remove(self, index: int) -> bool:
        """Moderation: remove a message; ``False`` if it was already gone."""
        try:
            return bool(self._items(index).delete())
        except TwilioRestException as exc:
            if exc.status == 404:
                return False
            raise

    @staticmethod
    def _newest_first(page: Any) -> HistoryPage:
        messages = [_message(item) for item in page]
        messages.reverse()
        more = page.next_page_url is not None and bool(messages)
        return HistoryPage(messages, messages[0].index if more else None)


def _message(item: Any) -> Message:
    return Message(int(item.index), item.data["author"], item.data["text"])
