"""The journal-backed assertions of the List, Document and Stream handles: each passes
when it should, and fails with the exact text a user reads (golden text): what was
expected, what the emulator holds, and the closest requests of the journal.

Golden texts are compared after normalising what changes from run to run: SIDs, ports,
the part of a clipped path that holds a SID, and the padding that depends on it.
"""

from __future__ import annotations

import re

import aiohttp  # noqa: F401
import pytest
import requests
import twilio.rest  # noqa: F401
from twilio.base.exceptions import TwilioRestException

pytest_plugins = ["pytester"]

#: The journal table's column header, as the normalised messages show it.
HEADER = "# method path st code rev object fault"


def normalise(text: str) -> str:
    text = re.sub(r"\b(AC|IS|MP|ES|ET|TO|TZ|RQ)[0-9a-f]{32}\b", r"<\1>", text)
    text = re.sub(r"\.\.\.\w*/(Maps|Lists|Documents|Streams)/", r".../\1/", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    return "\n".join(re.sub(r" {2,}", " ", line).strip() for line in text.splitlines())


def failure(call) -> str:
    with pytest.raises(AssertionError) as info:
        call()
    return normalise(str(info.value))


def list_items(client, sync_list):
    return client.sync.v1.services(sync_list.service_sid).sync_lists(sync_list.sid).sync_list_items


def document(client, sync_document):
    return client.sync.v1.services(sync_document.service_sid).documents(sync_document.sid)


# -------------------------------------------------------------------- Lists
@pytest.mark.sync_list(items=[{"v": 0}, {"v": 1}])
def test_list_assert_item(twilio_client, sync_list):
    list_items(twilio_client, sync_list)(1).update(data={"v": 2})
    sync_list.assert_item(1, {"v": 2})
    assert failure(lambda: sync_list.assert_item(1, {"v": 1})) == (
        'item 1 of List <ES> should hold {"v": 1}, but it holds {"v":2} (revision 3)\n'
        "requests for this index (journal):\n" + HEADER + "\n"
        "1 POST .../Lists/<ES>/Items/1 200 2->3 list[1]"
    )
    assert failure(lambda: sync_list.assert_item(7, {"v": 1})) == (
        'item 7 of List <ES> should hold {"v": 1}, but it does not exist\n'
        "latest requests (journal):\n" + HEADER + "\n"
        "1 POST .../Lists/<ES>/Items/1 200 2->3 list[1]"
    )


@pytest.mark.sync_list(items=[{"v": 0}])
def test_list_assert_no_item(twilio_client, sync_list, sync_server):
    list_items(twilio_client, sync_list).create(data={"v": 1})
    sync_list.assert_no_item(5)
    # raw HTTP: twilio-python 9.13 drops If-Match on delete
    answer = requests.delete(sync_list.items_url + "/0", auth=sync_server.auth, timeout=5)
    assert answer.status_code == 204
    sync_list.assert_no_item(0)
    assert failure(lambda: sync_list.assert_no_item(1)) == (
        'item 1 of List <ES> should not exist, but it holds {"v":1} (revision 2)\n'
        "requests for this index (journal):\n" + HEADER + "\n"
        "1 POST .../Lists/<ES>/Items 201 -->2 list[1]"
    )


@pytest.mark.sync_list(items=[{"v": 0}])
def test_list_assert_written_counts_creates_and_updates_of_the_index(twilio_client, sync_list):
    items = list_items(twilio_client, sync_list)
    items.create(data={"v": 1})  # index 1
    items(1).update(data={"v": 2})
    items(1).fetch()
    items(0).fetch()
    sync_list.update(1, {"v": 3})  # the handle writes without a request: not counted
    sync_list.assert_written(1, 2)
    sync_list.assert_written(0, 0)
    assert failure(lambda: sync_list.assert_written(1, 3)) == (
        "item 1 of List <ES> should have been written 3 time(s), but was written 2 time(s)\n"
        "requests for this index (journal):\n" + HEADER + "\n"
        "1 POST .../Lists/<ES>/Items 201 -->2 list[1]\n"
        "2 POST .../Lists/<ES>/Items/1 200 2->3 list[1]\n"
        "3 GET .../Lists/<ES>/Items/1 200 3->3 list[1]"
    )


@pytest.mark.sync_list(items=[{"v": 0}])
def test_list_assert_retried_after_conflict(twilio_client, sync_list, sync_server):
    item = list_items(twilio_client, sync_list)(0)
    assert failure(lambda: sync_list.assert_retried_after_conflict(0)) == (
        "item 0 of List <ES>: expected a conditional write answered 412 and then retried, "
        "but no request for it was answered 412\n"
        "latest requests (journal):\n" + HEADER + "\n(no requests)"
    )
    sync_list.update(0, {"v": 1})  # another writer moved it on
    with pytest.raises(TwilioRestException) as stale:
        item.update(data={"v": 2}, if_match="1")
    assert stale.value.status == 412
    item.update(data={"v": 2})  # not conditional: no retry in the sense of If-Match
    assert failure(lambda: sync_list.assert_retried_after_conflict(0)) == (
        "item 0 of List <ES>: a conditional write was answered 412, but no later "
        "conditional write succeeded\n"
        "requests for this index (journal):\n" + HEADER + "\n"
        "1 POST .../Lists/<ES>/Items/0 412 54155 2->2 list[0]\n"
        "2 POST .../Lists/<ES>/Items/0 200 2->3 list[0]"
    )
    current = item.fetch().revision
    answer = requests.post(
        sync_list.items_url + "/0",
        data={"Data": '{"v": 3}'},
        headers={"If-Match": current},
        auth=sync_server.auth,
        timeout=5,
    )
    assert answer.status_code == 200
    sync_list.assert_retried_after_conflict(0)


# ---------------------------------------------------------------- Documents
@pytest.mark.sync_document(data={"status": "ringing"})
def test_document_assert_data(twilio_client, sync_document):
    sync_document.assert_data({"status": "ringing"})
    document(twilio_client, sync_document).update(data={"status": "answered"})
    sync_document.assert_data({"status": "answered"})
    assert failure(lambda: sync_document.assert_data({"status": "ringing"})) == (
        'Document <ET> should hold {"status": "ringing"}, but it holds {"status":"answered"} '
        "(revision 1)\n"
        "requests for this Document (journal):\n" + HEADER + "\n"
        "1 POST .../Documents/<ET> 200 0->1 document"
    )
    document(twilio_client, sync_document).delete()
    assert failure(lambda: sync_document.assert_data({"status": "answered"})) == (
        'Document <ET> should hold {"status": "answered"}, but it does not exist (deleted, '
        "not expired)\n"
        "requests for this Document (journal):\n" + HEADER + "\n"
        "1 POST .../Documents/<ET> 200 0->1 document\n"
        "2 DELETE .../Documents/<ET> 204 1->- document"
    )


def test_document_assert_written(twilio_client, sync_document):
    api = document(twilio_client, sync_document)
    api.update(data={"n": 1})
    api.fetch()
    api.update(ttl=60)
    sync_document.update({"n": 2})  # no request: not counted
    sync_document.assert_written(2)
    assert failure(lambda: sync_document.assert_written(1)) == (
        "Document <ET> should have been written 1 time(s), but was written 2 time(s)\n"
        "requests for this Document (journal):\n" + HEADER + "\n"
        "1 POST .../Documents/<ET> 200 0->1 document\n"
        "2 GET .../Documents/<ET> 200 1->1 document\n"
        "3 POST .../Documents/<ET> 200 1->2 document"
    )


def test_document_assert_written_counts_its_creation_by_name(twilio_client, sync_server):
    from pytest_syncmap import DocumentHandle

    service = twilio_client.sync.v1.services("default")
    created = service.documents.create(unique_name="call", data={"n": 0})
    service.documents("call").update(data={"n": 1})
    handle = DocumentHandle(sync_server, created.service_sid, created.sid)
    handle.assert_written(2)
    handle.assert_data({"n": 1})


@pytest.mark.sync_document(data={"n": 0})
def test_document_assert_retried_after_conflict(twilio_client, sync_document):
    api = document(twilio_client, sync_document)
    assert failure(sync_document.assert_retried_after_conflict) == (
        "Document <ET>: expected a conditional write answered 412 and then retried, but no "
        "request for it was answered 412\n"
        "latest requests (journal):\n" + HEADER + "\n(no requests)"
    )
    sync_document.update({"n": 1})
    with pytest.raises(TwilioRestException):
        api.update(data={"n": 2}, if_match="0")
    assert failure(sync_document.assert_retried_after_conflict) == (
        "Document <ET>: a conditional write was answered 412, but no later conditional "
        "write succeeded\n"
        "requests for this Document (journal):\n" + HEADER + "\n"
        "1 POST .../Documents/<ET> 412 54103 1->1 document"
    )
    fresh = api.fetch()
    api.update(data={"n": 2}, if_match=fresh.revision)
    sync_document.assert_retried_after_conflict()
    sync_document.assert_data({"n": 2})


# ------------------------------------------------------------------ Streams
@pytest.mark.sync_clock("2030-01-01T12:00:00Z")
@pytest.mark.sync_stream(unique_name="typing")
def test_stream_assert_published(twilio_client, sync_stream, sync_clock):
    stream = twilio_client.sync.v1.services(sync_stream.service_sid).sync_streams("typing")
    stream.stream_messages.create(data={"who": "ann"})
    sync_clock.advance(1)
    sync_stream.publish({"who": "bob"})
    stream.stream_messages.create(data={"who": "ann"})
    sync_stream.assert_published({"who": "ann"})
    sync_stream.assert_published({"who": "ann"}, times=2)
    sync_stream.assert_published({"who": "bob"}, times=1)
    sync_stream.assert_not_published({"who": "cat"})
    listing = (
        "messages published to it during this test (3):\n"
        '1. {"who":"ann"} at 2030-01-01T12:00:00Z\n'
        '2. {"who":"bob"} at 2030-01-01T12:00:01Z\n'
        '3. {"who":"ann"} at 2030-01-01T12:00:01Z\n'
        "requests for this Stream (journal):\n" + HEADER + "\n"
        "1 POST .../Streams/typing/Messages 201 stream typing\n"
        "2 POST .../Streams/typing/Messages 201 stream typing"
    )
    assert failure(lambda: sync_stream.assert_published({"who": "ann"}, times=1)) == (
        'Stream <TO> should have received {"who": "ann"} 1 time(s), but it received it 2 '
        "time(s); " + listing
    )
    assert failure(lambda: sync_stream.assert_published({"who": "cat"})) == (
        'Stream <TO> should have received {"who": "cat"} at least once, but it received it 0 '
        "time(s); " + listing
    )
    assert failure(sync_stream.assert_not_published) == (
        "Stream <TO> should have received no message, but it received 3; " + listing
    )
    assert failure(lambda: sync_stream.assert_not_published({"who": "bob"})) == (
        'Stream <TO> should have received no message holding {"who": "bob"}, but it received '
        "1; " + listing
    )


def test_stream_assertions_with_nothing_published(sync_stream):
    sync_stream.assert_not_published()
    sync_stream.assert_published({"n": 1}, times=0)
    assert failure(lambda: sync_stream.assert_published({"n": 1})) == (
        'Stream <TO> should have received {"n": 1} at least once, but it received it 0 '
        "time(s); no message was published to it during this test\n"
        "latest requests (journal):\n" + HEADER + "\n(no requests)"
    )


def test_stream_listing_shows_the_last_ten(sync_stream):
    for n in range(12):
        sync_stream.publish({"n": n})
    text = failure(sync_stream.assert_not_published)
    lines = text.splitlines()
    assert lines[0] == (
        "Stream <TO> should have received no message, but it received 12; messages "
        "published to it during this test (12):"
    )
    assert lines[1] == "... 2 earlier message(s) not shown"
    assert [line.split(".")[0] for line in lines[2:12]] == [str(n) for n in range(3, 13)]
    assert lines[2].startswith('3. {"n":2} at ')


# ------------------------------------------------- in a user's failing test
def test_a_failing_assertion_in_a_users_test(pytester):
    pytester.makepyfile(
        """
        import pytest
        from twilio.rest import Client

        @pytest.mark.sync_document(unique_name="call", data={"status": "ringing"})
        def test_answer_call(sync_document):
            Client().sync.v1.services(sync_document.service_sid).documents("call").update(
                data={"status": "busy"}
            )
            sync_document.assert_data({"status": "answered"})
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            'E * Document ET* should hold {"status": "answered"}, but it holds '
            '{"status":"busy"} (revision 1)',
            "E *requests for this Document (journal):",
            "E * 1 POST *Documents/call 200 * 0->1 * document call",
            "*- pytest-syncmap journal -*",
        ]
    )
