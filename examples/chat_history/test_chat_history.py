"""Tests for chat_history.py: a room's history on a Sync List, read page by page.

The ``sync_list`` marker seeds the List the app opens by name, the handle arranges
what a test needs without HTTP (``append``, ``delete``) and shows what the app wrote
(``sync_list[-1]``, ``indexes``), and the journal counts the pages the app requested.
"""

import pytest
from chat_history import ChatHistory, HistoryPage, Message
from twilio.rest import Client

HISTORY = [{"author": "ann" if n % 3 else "bob", "text": f"message {n}"} for n in range(25)]


def room(sync_list, **options):
    options.setdefault("page_size", 10)
    return ChatHistory(Client(), sync_list.service_sid, "lobby", **options)


def texts(page: HistoryPage) -> list[str]:
    return [m.text for m in page.messages]


@pytest.mark.sync_list(unique_name="chat-lobby", items=HISTORY)
def test_opening_the_room_shows_the_newest_page(sync_list, sync_server):
    latest = room(sync_list).latest()
    assert texts(latest) == [f"message {n}" for n in range(15, 25)]  # oldest first
    assert latest.older_than == 15
    assert len(sync_server.journal.find(operation="ListSyncListItem")) == 1


@pytest.mark.sync_list(unique_name="chat-lobby", items=HISTORY)
def test_scrolling_back_page_by_page_to_the_start(sync_list, sync_server):
    history = room(sync_list)
    page = history.latest()
    seen = texts(page)
    while page.older_than is not None:
        page = history.before(page.older_than)
        seen = texts(page) + seen
    assert seen == [m["text"] for m in HISTORY] == [m["text"] for m in sync_list]
    # 25 messages, 10 a page: three requests, one per page
    pages = sync_server.journal.find(operation="ListSyncListItem")
    assert [e.query.get("Order") for e in pages] == ["desc"] * 3


@pytest.mark.sync_list(unique_name="chat-lobby", items=HISTORY)
def test_new_and_removed_messages_never_shift_the_pages_to_come(sync_list):
    history = room(sync_list)
    first = history.latest()
    # while the user reads, others post, and a moderator removes two older messages
    history.post("cat", "new 1")
    history.post("cat", "new 2")
    assert history.remove(14)
    assert history.remove(3)
    assert not history.remove(3)
    second = history.before(first.older_than)
    third = history.before(second.older_than)
    assert [m.index for m in second.messages] == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert [m.index for m in third.messages] == [0, 1, 2]
    assert third.older_than is None
    assert sync_list.indexes == [*range(3), *range(4, 14), *range(15, 27)]


@pytest.mark.sync_list(unique_name="chat-lobby", items=HISTORY[:3])
def test_posting_appends_at_the_next_index(sync_list):
    message = room(sync_list).post("ann", "hello")
    assert message == Message(3, "ann", "hello")
    assert sync_list[-1] == {"author": "ann", "text": "hello"}
    sync_list.assert_item(3, {"author": "ann", "text": "hello"})
    # an index freed by a removal is never given again
    sync_list.delete(3)
    assert room(sync_list).post("bob", "again").index == 4


@pytest.mark.sync_list(unique_name="chat-lobby", items=HISTORY)
def test_export_follows_next_page(sync_list, sync_server):
    sync_list.delete(10)  # a gap on a page boundary
    sync_list.delete(11)
    exported = list(room(sync_list, page_size=7).export())
    assert [m.index for m in exported] == [n for n in range(25) if n not in (10, 11)]
    assert len(sync_server.journal.find(operation="ListSyncListItem")) == 4  # 23 / 7


@pytest.mark.sync_list(unique_name="chat-lobby", items=HISTORY)
def test_search_pages_through_everything(sync_list, sync_server):
    bobs = room(sync_list, page_size=5).by_author("bob")
    assert [m.index for m in bobs] == [0, 3, 6, 9, 12, 15, 18, 21, 24]
    assert len(sync_server.journal.find(operation="ListSyncListItem")) == 5


@pytest.mark.sync_list(unique_name="chat-lobby")
def test_an_empty_room(sync_list):
    history = room(sync_list)
    assert history.latest() == HistoryPage([], None)
    assert list(history.export()) == []


@pytest.mark.sync_clock("2030-01-01T12:00:00Z")
@pytest.mark.sync_list(unique_name="chat-lobby", service="default")
def test_ephemeral_rooms_forget_old_messages(sync_list, sync_clock):
    # service="default": the app addresses services("default"), as Twilio Functions do
    history = ChatHistory(Client(), "default", "lobby", page_size=10, message_ttl=3600)
    history.post("ann", "early")
    sync_clock.advance(1800)
    history.post("bob", "later")
    sync_list.assert_expires_at(0, "2030-01-01T13:00:00Z")
    sync_clock.advance(1800)
    sync_list.assert_expired(0)
    sync_list.assert_alive(1, for_at_least=1800)
    assert texts(history.latest()) == ["later"]
