"""The ``sync_list``, ``sync_document`` and ``sync_stream`` fixtures and their markers,
as users use them: small suites written into a ``pytester`` directory and run by pytest.

Each marker is shaped like ``sync_map``'s (``unique_name``, the initial content, ``ttl``,
``service``), requests its fixture by itself, is known to ``--strict-markers`` and
``--markers``, and refuses what it does not understand with a usage error naming it.
"""

from __future__ import annotations

import inspect
import re

# Imported here so in-process pytester runs find them already loaded.
import aiohttp  # noqa: F401
import pytest
import requests  # noqa: F401
import twilio.rest  # noqa: F401

from pytest_syncmap import plugin

pytest_plugins = ["pytester"]


# ------------------------------------------------------------ seeded objects
def test_markers_seed_the_objects_the_official_client_reads(pytester):
    pytester.makepyfile(
        """
        from datetime import datetime, timedelta, timezone

        import pytest
        import requests

        MESSAGES = [{"from": "ann", "text": "hi"}, {"from": "bob", "text": "hello"}, {"n": 3}]

        @pytest.mark.sync_list(unique_name="chat", items=MESSAGES, ttl=600)
        def test_list(sync_list, twilio_client, sync_server):
            service = twilio_client.sync.v1.services(sync_list.service_sid)
            fetched = service.sync_lists("chat").fetch()
            assert fetched.sid == sync_list.sid
            assert fetched.unique_name == sync_list.unique_name == "chat"
            left = fetched.date_expires - datetime.now(timezone.utc)
            assert timedelta(seconds=590) < left <= timedelta(seconds=600)
            items = service.sync_lists("chat").sync_list_items.list()
            assert [(i.index, i.data) for i in items] == list(enumerate(MESSAGES))
            assert list(sync_list) == MESSAGES
            assert sync_list.indexes == [0, 1, 2]
            answer = requests.get(sync_list.items_url, auth=sync_server.auth, timeout=5)
            assert [i["data"] for i in answer.json()["items"]] == MESSAGES

        @pytest.mark.sync_document(unique_name="call-state", data={"status": "ringing"})
        def test_document(sync_document, twilio_client, sync_server):
            fetched = twilio_client.sync.v1.services(sync_document.service_sid).documents(
                "call-state"
            ).fetch()
            assert (fetched.sid, fetched.data, fetched.revision) == (
                sync_document.sid, {"status": "ringing"}, "0"
            )
            assert fetched.date_expires is None
            assert sync_document.data == {"status": "ringing"}
            assert sync_document.revision == "0"
            answer = requests.get(sync_document.url, auth=sync_server.auth, timeout=5)
            assert answer.json()["unique_name"] == "call-state"

        @pytest.mark.sync_stream(unique_name="typing", ttl=60)
        def test_stream(sync_stream, twilio_client):
            fetched = twilio_client.sync.v1.services(sync_stream.service_sid).sync_streams(
                "typing"
            ).fetch()
            assert (fetched.sid, fetched.unique_name) == (sync_stream.sid, "typing")
            assert fetched.date_expires is not None
            assert sync_stream.messages == []

        def test_unmarked(sync_list, sync_document, sync_stream):
            assert sync_list.unique_name is None and len(sync_list) == 0
            assert sync_document.unique_name is None and sync_document.data == {}
            assert sync_stream.unique_name is None and sync_stream.record.date_expires is None
            assert sync_list.record.date_expires is None
            assert sync_document.record.date_expires is None
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=4)


def test_markers_alone_create_the_objects_the_app_opens_by_name(pytester):
    pytester.makepyfile(
        app="""
        from twilio.rest import Client

        def service():
            return Client().sync.v1.services("default")

        def history():
            return [i.data["text"] for i in service().sync_lists("chat").sync_list_items.list()]

        def call_status():
            return service().documents("call").fetch().data["status"]

        def typing(who):
            service().sync_streams("typing").stream_messages.create(data={"who": who})
        """,
        test_app="""
        import pytest

        import app

        @pytest.mark.sync_list(unique_name="chat", items=[{"text": "hi"}], service="default")
        @pytest.mark.sync_document(unique_name="call", data={"status": "up"}, service="default")
        @pytest.mark.sync_stream(unique_name="typing", service="default")
        def test_markers_alone(sync_server):
            # No object fixture among the arguments: each marker requested its own.
            assert app.history() == ["hi"]
            assert app.call_status() == "up"
            app.typing("ann")
        """,
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_service_default_makes_the_default_service_the_tests_service(pytester):
    pytester.makepyfile(
        """
        import pytest
        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client

        @pytest.mark.sync_list(unique_name="l", service="default")
        def test_list(sync_list, sync_service, sync_server):
            assert sync_list.service_sid == sync_server.store.default_service_sid
            assert sync_service.sid == sync_list.service_sid
            assert Client().sync.v1.services("default").sync_lists("l").fetch().sid == sync_list.sid

        @pytest.mark.sync_document(unique_name="d", service="default")
        def test_document(sync_document, sync_server):
            assert sync_document.service_sid == sync_server.store.default_service_sid
            fetched = Client().sync.v1.services("default").documents("d").fetch()
            assert fetched.sid == sync_document.sid

        @pytest.mark.sync_stream(unique_name="s", service="default")
        def test_stream(sync_stream, sync_server):
            assert sync_stream.service_sid == sync_server.store.default_service_sid
            Client().sync.v1.services("default").sync_streams("s").stream_messages.create(
                data={"x": 1}
            )
            assert sync_stream.published == [{"x": 1}]

        # One marker asking for the default Service puts every object of the test there.
        @pytest.mark.sync_document(service="default")
        def test_one_marker_moves_every_object(sync_map, sync_list, sync_document, sync_stream,
                                               sync_server):
            default = sync_server.store.default_service_sid
            services = {h.service_sid for h in (sync_map, sync_list, sync_document, sync_stream)}
            assert services == {default}

        @pytest.mark.sync_list(unique_name="l")
        def test_without_it_a_fresh_service(sync_list, sync_document, sync_server):
            assert sync_list.service_sid != sync_server.store.default_service_sid
            assert sync_document.service_sid == sync_list.service_sid
            with pytest.raises(TwilioRestException) as missing:
                Client().sync.v1.services("default").sync_lists("l").fetch()
            assert missing.value.status == 404
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=5)


def test_closest_marker_wins(pytester):
    pytester.makepyfile(
        """
        import pytest

        pytestmark = [
            pytest.mark.sync_list(unique_name="module-list", items=[{"m": 1}]),
            pytest.mark.sync_document(unique_name="module-doc", data={"m": 1}),
        ]

        def test_module_markers(sync_list, sync_document):
            assert (sync_list.unique_name, list(sync_list)) == ("module-list", [{"m": 1}])
            assert (sync_document.unique_name, sync_document.data) == ("module-doc", {"m": 1})

        @pytest.mark.sync_list(unique_name="function-list")
        @pytest.mark.sync_document(data={"f": 1})
        def test_function_markers_win(sync_list, sync_document):
            assert (sync_list.unique_name, list(sync_list)) == ("function-list", [])
            assert (sync_document.unique_name, sync_document.data) == (None, {"f": 1})

        @pytest.mark.sync_stream(unique_name="class-stream")
        class TestGroup:
            def test_class_marker(self, sync_stream):
                assert sync_stream.unique_name == "class-stream"
        """
    )
    pytester.runpytest().assert_outcomes(passed=3)


# --------------------------------------------------------------- usage errors
def test_bad_marker_arguments_are_clear_usage_errors(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sync_list(unique_nam="typo")
        def test_list_unknown(sync_server):
            pass

        @pytest.mark.sync_document("doc")
        def test_document_positional(sync_server):
            pass

        @pytest.mark.sync_stream(items=[{}])
        def test_stream_has_no_content(sync_server):
            pass

        @pytest.mark.sync_list(items={"a": {}})
        def test_list_items_not_a_list(sync_server):
            pass

        @pytest.mark.sync_list(items="abc")
        def test_list_items_a_string(sync_server):
            pass

        @pytest.mark.sync_document(data=[1, 2])
        def test_document_data_not_a_dict(sync_server):
            pass

        @pytest.mark.sync_stream(service="IS00000000000000000000000000000000")
        def test_unknown_service(sync_server):
            pass

        @pytest.mark.sync_document(ttl=-1)
        def test_refused_ttl(sync_server):
            pass

        @pytest.mark.sync_list(unique_name="ES00000000000000000000000000000000")
        def test_sid_shaped_name(sync_server):
            pass

        @pytest.mark.sync_list(items=[{"big": "x" * 20000}])
        def test_item_too_large(sync_server):
            pass

        def test_others_still_run(sync_list, sync_document, sync_stream):
            assert len(sync_list) == 0
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=10)
    for line in (
        "*UsageError: @pytest.mark.sync_list got unknown argument(s) unique_nam; it accepts "
        "unique_name, items, ttl, service",
        "*UsageError: @pytest.mark.sync_document takes keyword arguments only (unique_name, "
        "data, ttl, service), got positional ('doc',)",
        "*UsageError: @pytest.mark.sync_stream got unknown argument(s) items; it accepts "
        "unique_name, ttl, service",
        "*UsageError: @pytest.mark.sync_list(items=...) must be a list of item data (each a "
        "dict), appended in order, not dict",
        "*UsageError: @pytest.mark.sync_list(items=...) must be a list of item data*, not str",
        "*UsageError: @pytest.mark.sync_document(data=...) must be a dict (the Document's "
        "data), not list",
        "*UsageError: @pytest.mark.sync_stream(service=...) takes 'default' (the account's "
        "default Service), not 'IS00000000000000000000000000000000'*",
        "*UsageError: @pytest.mark.sync_document: Invalid Ttl -1*",
        "*UsageError: @pytest.mark.sync_list: *ES00000000000000000000000000000000*",
        "*UsageError: @pytest.mark.sync_list: List Item data is 20010 bytes; the limit is "
        "16384 bytes",
    ):
        result.stdout.fnmatch_lines([line])
    result.stdout.fnmatch_lines(["ERROR *::test_list_unknown*"])


def test_a_refused_seed_does_not_disturb_the_next_test(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sync_list(unique_name="chat", items=[{"ok": 1}, {"big": "x" * 20000}])
        def test_refused(sync_server):
            pass

        @pytest.mark.sync_list(unique_name="chat")
        def test_next(sync_list, sync_server):
            assert len(sync_list) == 0
            assert sync_server.store.lists.page(sync_list.service_sid, limit=10).records == [
                sync_list.record
            ]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1, errors=1)


# ------------------------------------------------- --markers, --fixtures, strict
def test_markers_lists_every_object_marker(pytester):
    result = pytester.runpytest("--markers")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.sync_map(unique_name=None, items=None, ttl=None, service=None):"
            " *unique name*",
            "@pytest.mark.sync_list(unique_name=None, items=None, ttl=None, service=None):"
            " *appended in order*service='default'*",
            "@pytest.mark.sync_document(unique_name=None, data=None, ttl=None, service=None):"
            " *its data*service='default'*",
            "@pytest.mark.sync_stream(unique_name=None, ttl=None, service=None):"
            " *the marker alone requests it*service='default'*",
        ]
    )


def test_strict_markers_accepts_the_markers(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sync_list(unique_name="l")
        @pytest.mark.sync_document(unique_name="d")
        @pytest.mark.sync_stream(unique_name="s")
        def test_marked(sync_list, sync_document, sync_stream):
            assert (sync_list.unique_name, sync_document.unique_name, sync_stream.unique_name) == (
                "l", "d", "s"
            )
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)
    pytester.makepyfile(
        test_control="""
        import pytest

        @pytest.mark.sync_lists(unique_name="typo")
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "test_control.py")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*'sync_lists' not found in `markers` configuration option*"])


@pytest.mark.parametrize("name", ["sync_list", "sync_document", "sync_stream"])
def test_fixtures_shows_the_docstring(pytester, name):
    pytester.makepyfile("def test_nothing(): pass")
    doc = inspect.getdoc(getattr(plugin, name))
    assert doc is not None
    assert len(doc) > 200
    # --fixtures shows the first paragraph, --fixtures -v all of it
    for options, shown_doc in ((), doc.split("\n\n")[0]), (("-v",), doc):
        lines = pytester.runpytest("--fixtures", *options).outlines
        heading = [i for i, line in enumerate(lines) if re.match(rf"{name} -- ", line)]
        assert len(heading) == 1, lines
        assert re.search(r"pytest_syncmap/plugin/fixtures\.py:\d+$", lines[heading[0]].rstrip())
        body = []
        for line in lines[heading[0] + 1 :]:
            if line and not line.startswith(" "):
                break
            body.append(line.strip())
        assert " ".join(" ".join(body).split()) == " ".join(shown_doc.split())


# --------------------------------------------------------- webhooks and order
ORDERS = """
import json
import pathlib

import pytest

ITEMS = [{"n": 1}, {"n": 2}]


def record(name, receiver):
    events = receiver.wait_for(4, timeout=5)
    kinds = sorted(
        [(e["EventType"], e.get("ItemIndex") or e.get("ItemKey") or None) for e in events[:4]],
        key=lambda event: event[0].startswith("list"),
    )
    with pathlib.Path("events.jsonl").open("a") as out:
        out.write(json.dumps([name, kinds]) + "\\n")


def marked(test):
    test = pytest.mark.sync_list(unique_name="chat", items=ITEMS)(test)
    return pytest.mark.sync_document(unique_name="call", data={"s": 1})(test)


@marked
def test_webhooks_first(sync_webhooks, sync_list, sync_document):
    record("webhooks first", sync_webhooks)


@marked
def test_objects_first(sync_document, sync_list, sync_webhooks):
    record("objects first", sync_webhooks)


@marked
def test_markers_alone(sync_webhooks):
    record("markers alone", sync_webhooks)


@pytest.fixture
def chat(sync_list):
    return sync_list


@marked
def test_through_a_fixture_of_the_test(chat, sync_service, sync_webhooks):
    record("through a fixture", sync_webhooks)
"""


def test_both_fixture_orders_deliver_the_same_webhooks(pytester):
    pytester.makepyfile(ORDERS)
    pytester.runpytest_subprocess("-v", timeout=60).assert_outcomes(passed=4)
    lines = pytester.path.joinpath("events.jsonl").read_text().splitlines()
    events = dict(__import__("json").loads(line) for line in lines)
    expected = [
        ["document_created", None],
        ["list_created", None],
        ["list_item_added", "0"],
        ["list_item_added", "1"],
    ]
    assert events == {
        "webhooks first": expected,
        "objects first": expected,
        "markers alone": expected,
        "through a fixture": expected,
    }


# ------------------------------------------------------------------ isolation
ISOLATION = """
import json
import pathlib

import pytest
import requests
from twilio.rest import Client

FRESH = {
    "list": [{"n": 0}],
    "indexes": [0],
    "rest list": [{"n": 0}],
    "document": {"v": 0},
    "revision": "0",
    "rest document": {"v": 0},
    "messages": [],
    "listeners": 2,  # the webhook dispatcher and this test's Stream
    "journal": 0,
}
def marked(test):
    test = pytest.mark.sync_list(unique_name="chat", items=[{"n": 0}])(test)
    test = pytest.mark.sync_document(unique_name="call", data={"v": 0})(test)
    return pytest.mark.sync_stream(unique_name="typing")(test)


def observe(name, sync_list, sync_document, sync_stream, sync_server):
    journal = len(sync_server.journal)  # before this test's own requests
    service = Client().sync.v1.services(sync_list.service_sid)
    seen = {
        "list": list(sync_list),
        "indexes": sync_list.indexes,
        "rest list": [i.data for i in service.sync_lists("chat").sync_list_items.list()],
        "document": sync_document.data,
        "revision": sync_document.revision,
        "rest document": service.documents("call").fetch().data,
        "messages": sync_stream.published,
        "listeners": len(sync_server.store.listeners),
        "journal": journal,
    }
    with pathlib.Path("seen.jsonl").open("a") as out:
        out.write(json.dumps([name, seen]) + "\\n")
    assert seen == FRESH
    # then change everything, as a test would
    service.sync_lists("chat").sync_list_items.create(data={"n": 1})
    sync_list.append({"n": 2})
    service.documents("call").update(data={"v": 1})
    sync_document.update({"v": 2})
    service.sync_streams("typing").stream_messages.create(data={"m": 1})
    requests.post(sync_stream.messages_url, data={"Data": '{"m": 2}'}, auth=sync_server.auth)
    sync_stream.publish({"m": 3})
    assert sync_stream.published == [{"m": 1}, {"m": 2}, {"m": 3}]


@pytest.mark.parametrize("n", range(3))
@marked
def test_one_order(sync_list, sync_document, sync_stream, sync_server, n):
    observe("one order", sync_list, sync_document, sync_stream, sync_server)


@pytest.mark.parametrize("n", range(3))
@marked
def test_other_order(sync_server, sync_stream, sync_document, sync_list, n):
    observe("other order", sync_list, sync_document, sync_stream, sync_server)
"""


def test_nothing_of_a_test_reaches_the_next_in_either_fixture_order(pytester):
    pytester.makepyfile(ISOLATION)
    pytester.runpytest().assert_outcomes(passed=6)
    lines = pytester.path.joinpath("seen.jsonl").read_text().splitlines()
    seen = [__import__("json").loads(line) for line in lines]
    fresh = {
        "list": [{"n": 0}],
        "indexes": [0],
        "rest list": [{"n": 0}],
        "document": {"v": 0},
        "revision": "0",
        "rest document": {"v": 0},
        "messages": [],
        "listeners": 2,  # the webhook dispatcher and this test's Stream
        "journal": 0,
    }
    assert [name for name, _ in seen] == ["one order"] * 3 + ["other order"] * 3
    assert all(observed == fresh for _, observed in seen), seen


def test_a_stream_stops_recording_when_its_test_ends(pytester):
    pytester.makepyfile(
        """
        import pytest

        KEPT = []

        def test_first(sync_stream, sync_server):
            KEPT.append((sync_stream, sync_server))
            assert sync_stream.recording
            sync_stream.publish({"n": 1})

        def test_second(sync_server):
            stream, server = KEPT[0]
            assert not stream.recording
            assert stream.published == [{"n": 1}]  # what it recorded stays readable
            assert len(server.store.listeners) == 1  # only the webhook dispatcher
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_isolation_under_xdist(pytester):
    pytester.makepyfile(ISOLATION)
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", timeout=120)
    result.assert_outcomes(passed=6)
