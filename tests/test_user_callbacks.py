"""User callbacks run with no lock of the emulator held, and their errors fail the test.

A ``when=`` predicate and a canned ``respond_with_handler`` answer are the test's own
code, called from the server's thread. They may read ``sync_faults``, the journal or
the store, and even call the emulator over HTTP, without deadlocking; whatever they
raise fails the test with the original traceback, while the client gets a Twilio
JSON 500 (never Werkzeug's HTML page). The suites run in a subprocess with a timeout,
so a deadlock fails the test instead of hanging the session.
"""

from __future__ import annotations

import pytest


def _run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(source)
    return pytester.runpytest_subprocess("-v", timeout=60)


PREDICATES = """
import requests
import pytest
from twilio.base.exceptions import TwilioRestException


def test_a_predicate_may_read_sync_faults(sync_faults, sync_map, twilio_client):
    sync_map.put("k", {"v": 1})
    seen = []

    def only_while_one_fault_is_planned(exchange):
        seen.append(len(sync_faults.faults))  # takes the plan's own lock: no deadlock
        return len(sync_faults.faults) == 1 and sync_faults.faults[0].fired == 0

    fault = sync_faults.server_error(when=only_while_one_fault_is_planned)
    items = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
    with pytest.raises(TwilioRestException) as failed:
        items.sync_map_items("k").fetch()
    assert failed.value.status == 500
    assert items.sync_map_items("k").fetch().data == {"v": 1}
    assert fault.fired == 1
    assert seen == [1]


def test_a_predicate_may_read_the_journal_and_the_store(
    sync_faults, sync_server, sync_map, twilio_client
):
    sync_map.put("k", {"v": 1})

    def on_the_second_fetch(exchange):
        fetches = sync_server.journal.find(operation="fetch", key="k")
        return len(fetches) == 1 and sync_map["k"] == {"v": 1}

    fault = sync_faults.not_found(key="k", when=on_the_second_fetch)
    items = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
    assert items.sync_map_items("k").fetch().data == {"v": 1}
    with pytest.raises(TwilioRestException) as missing:
        items.sync_map_items("k").fetch()
    assert (missing.value.status, missing.value.code) == (404, 54201)
    assert fault.fired == 1


def test_a_predicate_that_raises(sync_faults, sync_map, sync_server):
    def broken(exchange):
        raise LookupError("the predicate's own bug")

    sync_faults.server_error(when=broken, expect_fired=False)
    answer = requests.get(sync_map.items_url, auth=sync_server.auth, timeout=10)
    assert answer.status_code == 500
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["code"] == 20500
"""


def test_predicates_run_outside_every_lock_and_their_errors_fail_the_test(pytester):
    result = _run(pytester, PREDICATES)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_a_predicate_that_raises FAILED*",
            '*raise LookupError("the predicate\'s own bug")*',
            "E*LookupError: the predicate's own bug",
        ]
    )


CANNED = """
from urllib.parse import urlsplit

import requests
from werkzeug.wrappers import Response


def test_a_canned_handler_may_call_the_emulator(sync_server, sync_faults, sync_map):
    sync_map.put("real", {"v": 1})

    def handler(request):
        # Reads the plan, the journal and the emulator itself, over HTTP, from the
        # server's thread: nothing of ours is locked while this runs.
        planned = len(sync_faults.faults)
        answered = len(sync_server.journal)
        real = requests.get(sync_map.items_url + "/real", auth=sync_server.auth, timeout=5)
        return Response(
            f'{{"planned": {planned}, "answered": {answered}, "real": {real.text}}}',
            content_type="application/json",
        )

    path = urlsplit(sync_map.items_url).path + "/canned"
    sync_server.expect_oneshot_request(path).respond_with_handler(handler)
    answer = requests.get(sync_map.items_url + "/canned", auth=sync_server.auth, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["planned"] == 0
    assert body["real"]["data"] == {"v": 1}
    [entry] = sync_server.journal.find(fault="canned")
    assert entry.status == 200


def test_a_canned_handler_that_raises(sync_server, sync_map):
    def handler(request):
        raise ZeroDivisionError("the canned handler's own bug")

    sync_server.expect_request("/v1/Services/default/Maps/m/Items/k").respond_with_handler(handler)
    answer = requests.get(
        sync_server.url + "/v1/Services/default/Maps/m/Items/k", auth=sync_server.auth, timeout=10
    )
    assert answer.status_code == 500
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {
        "code": 20500,
        "message": "An internal server error has occurred",
        "more_info": "https://www.twilio.com/docs/errors/20500",
        "status": 500,
    }
"""


def test_canned_handlers_run_outside_every_lock_and_their_errors_fail_the_test(pytester):
    result = _run(pytester, CANNED)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_a_canned_handler_that_raises FAILED*",
            '*raise ZeroDivisionError("the canned handler\'s own bug")*',
            "E*ZeroDivisionError: the canned handler's own bug",
        ]
    )
    result.stdout.no_fnmatch_line("*<!doctype html>*")
