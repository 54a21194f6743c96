"""The ``/_syncmap/`` control plane: the test-side powers over HTTP, from another process.

A subprocess (plain ``requests``, as a non-Python or out-of-process client would do it)
resets, seeds, moves the clock and injects a fault; the test's own official client then
sees the result. Errors must be Twilio-shaped JSON like the rest of the API.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

ERROR_KEYS = {"code", "message", "more_info", "status"}

SECOND_PROCESS = textwrap.dedent(
    """
    import json, sys
    import requests

    base, sid, token = sys.argv[1:4]
    auth = (sid, token)
    out = []

    def call(method, path, body=None):
        r = requests.request(
            method, base + "/_syncmap/" + path, auth=auth, timeout=10,
            data=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        out.append({"call": f"{method} {path}", "status": r.status_code,
                    "body": r.json() if r.content else None})

    call("POST", "reset")
    call("POST", "seed", {"unique_name": "seeded",
                          "items": {"k": {"v": 1}, "other": {"nested": {"a": [1, 2]}}}})
    call("POST", "clock", {"now": "2031-05-01T00:00:00Z"})
    call("POST", "clock", {"advance": 60})
    call("POST", "faults", {"kind": "conflict", "key": "k"})
    call("GET", "clock")
    call("GET", "faults")
    print(json.dumps(out))
    """
)


def _run_second_process(sync_server, tmp_path, script: str = SECOND_PROCESS):
    path = tmp_path / "second_process.py"
    path.write_text(script)
    done = subprocess.run(
        [sys.executable, str(path), sync_server.url, *sync_server.auth],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _control(sync_server, method, path, body=None, *, raw=None, auth=True):
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    return requests.request(
        method,
        f"{sync_server.url}/_syncmap/{path}",
        auth=sync_server.auth if auth is True else auth,
        data=data,
        timeout=10,
    )


def _assert_twilio_error(response, status, code=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == status
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
    if code is not None:
        assert body["code"] == code
    return body


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


# ------------------------------------------------------------ second process
def test_second_process_resets_seeds_moves_clock_and_injects_412(
    sync_server, twilio_client, tmp_path
):
    # State from before the subprocess's reset must disappear.
    old = twilio_client.sync.v1.services.create(friendly_name="before reset")

    reset, seed, now, advance, inject, get_clock, get_faults = _run_second_process(
        sync_server, tmp_path
    )

    assert reset == {"call": "POST reset", "status": 200, "body": {"reset": True}}
    assert seed["status"] == 201
    seeded = seed["body"]
    assert seeded["unique_name"] == "seeded"
    assert seeded["sid"].startswith("MP")
    assert seeded["account_sid"] == sync_server.account_sid
    assert now["body"] == {"now": "2031-05-01T00:00:00Z", "frozen": True}
    assert advance["body"] == {"now": "2031-05-01T00:01:00Z", "frozen": True}
    assert get_clock == {
        "call": "GET clock",
        "status": 200,
        "body": {"now": "2031-05-01T00:01:00Z", "frozen": True},
    }
    assert inject["status"] == 201
    assert inject["body"]["kind"] == "conflict"
    [fault] = get_faults["body"]["faults"]
    assert (fault["kind"], fault["key"], fault["fired"], fault["times"]) == ("conflict", "k", 0, 1)

    # The test's own official client sees all of it.
    with pytest.raises(TwilioRestException) as gone:
        twilio_client.sync.v1.services(old.sid).fetch()
    assert gone.value.status == 404
    service = twilio_client.sync.v1.services(seeded["service_sid"])
    sync_map = service.sync_maps("seeded")
    assert sync_map.fetch().sid == seeded["sid"]
    items = {i.key: i for i in sync_map.sync_map_items.list()}
    assert {k: i.data for k, i in items.items()} == {
        "k": {"v": 1},
        "other": {"nested": {"a": [1, 2]}},
    }
    new = sync_map.sync_map_items.create(key="new", data={})
    assert new.date_created == datetime(2031, 5, 1, 0, 1, tzinfo=timezone.utc)
    # One clock: the other process moved the test's own time too.
    assert datetime.now(timezone.utc) == datetime(2031, 5, 1, 0, 1, tzinfo=timezone.utc)

    with pytest.raises(TwilioRestException) as conflict:
        sync_map.sync_map_items("k").update(data={"v": 2}, if_match=items["k"].revision)
    assert conflict.value.status == 412
    assert sync_map.sync_map_items("k").fetch().data == {"v": 1}
    # Fired once: the retry goes through.
    updated = sync_map.sync_map_items("k").update(data={"v": 2}, if_match=items["k"].revision)
    assert updated.data == {"v": 2}

    faults = _control(sync_server, "GET", "faults").json()["faults"]
    assert [(f["kind"], f["fired"]) for f in faults] == [("conflict", 1)]
    entry = sync_server.journal.last(status=412)
    assert entry is not None
    assert entry.fault == "conflict"
    assert entry.key == "k"


# ------------------------------------------------------------------- shapes
def test_get_clock_faults_journal_shapes(sync_server, sync_map):
    sync_map.put("k", {"v": 1})
    clock = _control(sync_server, "GET", "clock")
    assert clock.status_code == 200
    assert clock.headers["Content-Type"].startswith("application/json")
    body = clock.json()
    assert set(body) == {"now", "frozen"}
    assert body["frozen"] is False
    assert abs(_parse(body["now"]) - datetime.now(timezone.utc)) < timedelta(seconds=5)

    assert _control(sync_server, "GET", "faults").json() == {"faults": []}
    added = _control(sync_server, "POST", "faults", {"kind": "not_found", "key": "x", "times": 2})
    assert added.status_code == 201
    assert set(added.json()) == {"kind", "description"}
    [fault] = _control(sync_server, "GET", "faults").json()["faults"]
    assert fault == {
        "kind": "not_found",
        "object_kind": None,
        "map": None,
        "list": None,
        "document": None,
        "stream": None,
        "key": "x",
        "index": None,
        "identity": None,
        "times": 2,
        "fired": 0,
        "description": fault["description"],
    }
    assert "not_found" in fault["description"]
    deleted = _control(sync_server, "DELETE", "faults")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert _control(sync_server, "GET", "faults").json() == {"faults": []}

    requests.get(f"{sync_map.items_url}/k", auth=sync_server.auth, timeout=10)
    journal = _control(sync_server, "GET", "journal").json()
    assert set(journal) == {"entries"}
    entries = journal["entries"]
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    fetch = next(e for e in entries if e["operation"] == "FetchSyncMapItem")
    assert fetch["method"] == "GET"
    assert fetch["status"] == 200
    assert fetch["key"] == "k"
    assert fetch["map"] == sync_map.sid
    assert {"seq", "method", "path", "operation", "status", "code", "fault", "form"} <= set(fetch)
    # Control requests are journalled too, by name.
    assert {"Control clock", "Control faults"} <= {e["operation"] for e in entries}


def test_seed_with_ttl_and_errors(sync_server, twilio_client):
    seeded = _control(
        sync_server, "POST", "seed", {"unique_name": "s", "ttl": 30, "items": {"a": {}}}
    )
    assert seeded.status_code == 201
    body = seeded.json()
    assert body["date_expires"] is not None
    assert body["service_sid"] == sync_server.store.default_service_sid
    _assert_twilio_error(_control(sync_server, "POST", "seed", {"unique_name": "s"}), 409, 54301)
    _assert_twilio_error(_control(sync_server, "POST", "seed", {"items": []}), 400, 20001)
    _assert_twilio_error(_control(sync_server, "POST", "seed", {"items": {"k": [1]}}), 400)
    _assert_twilio_error(_control(sync_server, "POST", "seed", {"ttl": -1}), 400)

    moved = _control(sync_server, "POST", "clock", {"advance": 31})
    assert moved.json()["frozen"] is True
    with pytest.raises(TwilioRestException) as gone:
        twilio_client.sync.v1.services(body["service_sid"]).sync_maps("s").fetch()
    assert gone.value.status == 404


# ------------------------------------------------------------------- errors
def test_unauthenticated_is_401_20003(sync_server):
    for auth in (None, (sync_server.account_sid, "wrong"), ("AC" + "0" * 32, "x")):
        response = _control(sync_server, "GET", "clock", auth=auth)
        _assert_twilio_error(response, 401, 20003)
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    # An unauthenticated reset changes nothing.
    sync_server.store.create_service(friendly_name="keep")
    _assert_twilio_error(_control(sync_server, "POST", "reset", auth=None), 401, 20003)
    assert any(s.friendly_name == "keep" for s in sync_server.store.list_services(limit=50).records)


@pytest.mark.parametrize("path", ["nope", "clock/extra", "reset/now", ""])
def test_unknown_control_path_is_404_20404(sync_server, path):
    _assert_twilio_error(_control(sync_server, "GET", path), 404, 20404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "clock", "GET, POST"),
        ("GET", "reset", "POST"),
        ("PUT", "faults", "GET, POST, DELETE"),
        ("POST", "journal", "GET"),
        ("GET", "seed", "POST"),
    ],
)
def test_wrong_method_is_405_20004(sync_server, method, path, allow):
    response = _control(sync_server, method, path)
    _assert_twilio_error(response, 405, 20004)
    assert response.headers["Allow"] == allow


@pytest.mark.parametrize("raw", ["not json", "{", "[1, 2]", '"text"', "\xff"])
def test_non_json_body_is_400_20001(sync_server, raw):
    _assert_twilio_error(_control(sync_server, "POST", "clock", raw=raw), 400, 20001)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "no_such_kind"},
        {},
        {"kind": 5},
        {"kind": "conflict", "probability": 2},
        {"kind": "conflict", "times": 0},
    ],
)
def test_bad_fault_is_400(sync_server, body):
    _assert_twilio_error(_control(sync_server, "POST", "faults", body), 400, 20001)
    assert sync_server.faults.faults == []


@pytest.mark.parametrize(
    "body", [{"now": "not a date"}, {"advance": "soon"}, {"speed": 2}, {"advance": float("nan")}]
)
def test_bad_clock_setting_is_400(sync_server, body):
    _assert_twilio_error(_control(sync_server, "POST", "clock", body), 400, 20001)
    # Nothing moved, nothing froze.
    assert _control(sync_server, "GET", "clock").json()["frozen"] is False
    assert not sync_server.clock.frozen


def test_a_bad_setting_beside_a_good_one_moves_nothing(sync_server):
    before = _control(sync_server, "GET", "clock").json()
    body = {"now": "2031-01-01T00:00:00Z", "advance": "soon"}
    _assert_twilio_error(_control(sync_server, "POST", "clock", body), 400, 20001)
    after = _control(sync_server, "GET", "clock").json()
    assert after["frozen"] is False
    assert abs(_parse(after["now"]) - _parse(before["now"])) < timedelta(seconds=5)


@pytest.mark.parametrize(
    "steps",
    [
        [{"advance": 1e12}],
        [{"advance": float("inf")}],
        [{"now": "9998-12-31T23:59:59Z"}, {"advance": 60}],
        [{"now": "9999-12-31T23:00:00Z"}],
        [{"now": "0001-01-01T00:00:00Z"}],
        [{"now": "1970-01-01T00:00:00Z"}, {"advance": -1}],
    ],
    ids=["huge", "infinity", "past-the-latest", "year-9999", "year-1", "before-1970"],
)
def test_clock_advance_out_of_range_is_400(sync_server, steps):
    *setup, last = steps
    for body in setup:
        assert _control(sync_server, "POST", "clock", body).status_code == 200
    _assert_twilio_error(_control(sync_server, "POST", "clock", last), 400, 20001)


def test_a_clock_the_control_plane_can_set_leaves_every_ttl_a_date(sync_server, sync_map):
    """Year 9999 used to be accepted; then a create with a TTL was a 500 (the expiry
    date overflowed) and year 1 rendered dates as '1-01-01T00:00:00Z'."""
    latest = _control(sync_server, "POST", "clock", {"now": "9998-12-31T23:59:59Z"})
    assert latest.json() == {"now": "9998-12-31T23:59:59Z", "frozen": True}
    created = requests.post(
        f"{sync_map.url}/Items",
        data={"Key": "k", "Data": "{}", "Ttl": "31536000"},
        auth=sync_server.auth,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    assert created.json()["date_expires"] == "9999-12-31T23:59:59Z"


def test_a_clock_move_out_of_range_changes_nothing(sync_server):
    before = _control(sync_server, "GET", "clock").json()
    body = {"frozen": True, "now": "9998-12-31T00:00:00Z", "advance": 86_400 * 2}
    _assert_twilio_error(_control(sync_server, "POST", "clock", body), 400, 20001)
    after = _control(sync_server, "GET", "clock").json()
    assert after["frozen"] is False
    assert abs(_parse(after["now"]) - _parse(before["now"])) < timedelta(seconds=5)


# -------------------------------------------------------------------- clock
class TestClockDoesNotOutliveTheTest:
    def test_a_sets_the_clock_and_leaves_it(self, sync_server):
        response = _control(sync_server, "POST", "clock", {"now": "2031-01-01T00:00:00Z"})
        assert response.json() == {"now": "2031-01-01T00:00:00Z", "frozen": True}
        assert datetime.now(timezone.utc) == datetime(2031, 1, 1, tzinfo=timezone.utc)

    def test_b_sees_the_wall_clock(self, sync_server, sync_map):
        assert datetime.now(timezone.utc).year < 2031
        assert _control(sync_server, "GET", "clock").json()["frozen"] is False
        item = sync_map.put("k", {})
        assert abs(item.date_created - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_frozen_false_restores_the_wall_clock(sync_server, twilio_client, sync_service):
    _control(sync_server, "POST", "clock", {"now": "2031-01-01T00:00:00Z"})
    service = twilio_client.sync.v1.services(sync_service.sid)
    frozen_map = service.sync_maps.create()
    assert frozen_map.date_created.year == 2031

    response = _control(sync_server, "POST", "clock", {"frozen": False})
    assert response.status_code == 200
    body = response.json()
    assert body["frozen"] is False
    real = datetime.now(timezone.utc)
    assert real.year < 2031
    assert abs(_parse(body["now"]) - real) < timedelta(seconds=5)
    live_map = service.sync_maps.create()
    assert abs(live_map.date_created - real) < timedelta(seconds=5)

    # "advance" from the wall clock freezes at wall + advance, for the test too.
    advanced = _control(sync_server, "POST", "clock", {"advance": 3600}).json()
    assert advanced["frozen"] is True
    ahead = _parse(advanced["now"]) - real
    assert timedelta(minutes=59) < ahead < timedelta(minutes=61)
    assert datetime.now(timezone.utc) == _parse(advanced["now"])


def test_reset_restores_the_servers_clock(sync_server):
    _control(sync_server, "POST", "clock", {"now": "2031-01-01T00:00:00Z"})
    assert _control(sync_server, "POST", "reset").json() == {"reset": True}
    assert _control(sync_server, "GET", "clock").json()["frozen"] is False
    assert datetime.now(timezone.utc).year < 2031


def test_reset_keeps_the_time_the_test_froze(sync_clock, sync_server):
    sync_clock.move_to("2030-06-01T00:00:00Z")
    _control(sync_server, "POST", "clock", {"advance": 60})
    assert _control(sync_server, "POST", "reset").json() == {"reset": True}
    assert _control(sync_server, "GET", "clock").json() == {
        "now": "2030-06-01T00:01:00Z",
        "frozen": True,
    }
    assert sync_clock.now() == datetime(2030, 6, 1, 0, 1, tzinfo=timezone.utc)


def test_expiry_triggered_by_a_control_plane_clock_move(sync_server, twilio_client, sync_map):
    items = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid)
    items.sync_map_items.create(key="short", data={"v": 1}, ttl=30)
    items.sync_map_items.create(key="keep", data={"v": 2})

    assert _control(sync_server, "POST", "clock", {"advance": 28}).status_code == 200
    assert items.sync_map_items("short").fetch().data == {"v": 1}
    assert _control(sync_server, "POST", "clock", {"advance": 3}).status_code == 200

    assert "short" not in sync_map
    with pytest.raises(TwilioRestException) as gone:
        items.sync_map_items("short").fetch()
    assert gone.value.status == 404
    assert [i.key for i in items.sync_map_items.list()] == ["keep"]


# ------------------------------------------------------------ seed every kind
SEED_EVERY_KIND = textwrap.dedent(
    """
    import json, sys
    import requests

    base, sid, token, service = sys.argv[1:5]
    out = []
    for body in (
        {"kind": "list", "service": service, "unique_name": "chat",
         "items": [{"text": "hi"}, {"text": "yo", "n": [1, 2]}]},
        {"kind": "document", "service": service, "unique_name": "call", "ttl": 60,
         "data": {"state": "ringing"}},
        {"kind": "document", "service": service},
        {"kind": "stream", "service": service, "unique_name": "typing"},
        {"kind": "map", "service": service, "items": {"k": {"v": 1}}},
        {"unique_name": "in-default", "items": {}},
    ):
        r = requests.post(base + "/_syncmap/seed", auth=(sid, token), json=body, timeout=10)
        out.append({"status": r.status_code, "body": r.json()})
    print(json.dumps(out))
    """
)


def test_a_second_process_seeds_every_kind(sync_server, sync_service, twilio_client, tmp_path):
    path = tmp_path / "seed_every_kind.py"
    path.write_text(SEED_EVERY_KIND)
    done = subprocess.run(
        [sys.executable, str(path), sync_server.url, *sync_server.auth, sync_service.sid],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    assert [a["status"] for a in answers] == [201] * 6, answers
    chat, call, bare, typing, cart, in_default = (a["body"] for a in answers)

    service = twilio_client.sync.v1.services(sync_service.sid)
    # Each answer is the resource exactly as the API renders it (spec-checked when
    # SYNCMAP_OAI_SPEC is set, by the fetches below).
    assert chat == _fetch_json(sync_server, chat["url"])
    assert chat["sid"].startswith("ES")
    assert chat["revision"] == "2"
    assert [(i.index, i.data) for i in service.sync_lists("chat").sync_list_items.list()] == [
        (0, {"text": "hi"}),
        (1, {"text": "yo", "n": [1, 2]}),
    ]
    assert call["sid"].startswith("ET")
    assert call["data"] == {"state": "ringing"}
    assert call["date_expires"] is not None
    assert service.documents("call").fetch().data == {"state": "ringing"}
    assert (bare["unique_name"], bare["data"]) == (None, {})
    assert typing["sid"].startswith("TO")
    assert set(typing["links"]) == {"messages"}
    assert service.sync_streams("typing").fetch().sid == typing["sid"]
    assert cart["sid"].startswith("MP")
    assert cart["unique_name"] is None
    assert service.sync_maps(cart["sid"]).sync_map_items("k").fetch().data == {"v": 1}
    assert in_default["service_sid"] == sync_server.store.default_service_sid
    for body in (chat, call, bare, typing, cart):
        assert body["service_sid"] == sync_service.sid
        assert body["account_sid"] == sync_server.account_sid


def _fetch_json(sync_server, url):
    return requests.get(url, auth=sync_server.auth, timeout=10).json()


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ({"kind": "queue"}, 400, 20001, "must be one of map, list, document, stream"),
        ({"kind": 3}, 400, 20001, "Invalid parameter kind"),
        ({"kind": "document", "items": []}, 400, 20001, "a document seed takes only"),
        ({"kind": "stream", "data": {}}, 400, 20001, "a stream seed takes only"),
        ({"kind": "list", "items": {"k": {}}}, 400, 20001, "an array of data objects"),
        ({"kind": "list", "items": [{}, [1]]}, 400, 54008, "List Item data must be a JSON"),
        ({"kind": "document", "data": "text"}, 400, 54008, "Document data must be"),
        ({"kind": "document", "data": {"x": "y" * 17000}}, 413, 54006, "exceeds"),
        ({"kind": "map", "items": {"": {}}}, 400, 54209, "Invalid Map Item key"),
        ({"kind": "list", "ttl": "30"}, 400, 20001, "Invalid parameter ttl"),
        ({"kind": "list", "ttl": True}, 400, 20001, "Invalid parameter ttl"),
        ({"kind": "document", "ttl": 10**9}, 400, 54011, "Invalid TTL"),
        ({"kind": "stream", "unique_name": 5}, 400, 20001, "Invalid parameter unique_name"),
        ({"kind": "stream", "unique_name": "IS" + "0" * 32}, 400, 54302, "Invalid unique"),
        ({"kind": "list", "service": ""}, 400, 20001, "Invalid parameter service"),
        ({"kind": "list", "service": "IS" + "0" * 32}, 404, 20404, "/Services/IS000"),
    ],
)
def test_a_bad_seed_is_a_twilio_400_and_makes_nothing(sync_server, body, status, code, message):
    answer = _control(sync_server, "POST", "seed", {"unique_name": "taken", **body})
    _assert_twilio_error(answer, status, code)
    assert message in answer.json()["message"]
    store = sync_server.store
    for objects in (store.maps, store.lists, store.documents, store.streams):
        assert objects.page("default", limit=10).records == []


def test_a_seed_meets_names_of_its_own_kind(sync_server):
    assert _control(sync_server, "POST", "seed", {"kind": "list", "unique_name": "x"}).ok
    again = _control(
        sync_server, "POST", "seed", {"kind": "list", "unique_name": "x", "items": [{}]}
    )
    _assert_twilio_error(again, 409, 54301)
    other = _control(sync_server, "POST", "seed", {"kind": "document", "unique_name": "x"})
    assert other.status_code == 201  # unique names are per kind (choices.unique_name_scope)
