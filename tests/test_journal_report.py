"""The request journal, the unfired-fault check, the failure report section, and the
exact wording of the assertion helpers' failures (golden text).

Golden texts are compared after normalising what changes from run to run: SIDs,
ports, timestamps, request ids, and the column padding that depends on SID lengths.
"""

from __future__ import annotations

import re

# Imported here so in-process pytester runs find them already loaded.
import aiohttp  # noqa: F401
import pytest
import requests
import twilio.rest  # noqa: F401
from twilio.base.exceptions import TwilioRestException

from pytest_syncmap.http.journal import Journal, JournalEntry

pytest_plugins = ["pytester"]

#: The journal table's column header, exactly (pinned golden text).
TABLE_HEADER = "   # method path" + " " * 58 + "st  code rev       object" + " " * 17 + "fault"


def normalise(text: str) -> str:
    """Make a failure message comparable: no SIDs, ports, dates, or SID-dependent padding."""
    text = re.sub(r"\b(AC|IS|MP|RQ)[0-9a-f]{32}\b", r"<\1>", text)
    text = re.sub(r"\.\.\.[0-9a-f]*/Maps/", ".../Maps/", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", "<time>", text)
    return "\n".join(re.sub(r" {2,}", " ", line).rstrip() for line in text.splitlines())


def items_api(client, sync_map):
    return client.sync.v1.services(sync_map.service_sid).sync_maps(sync_map.sid).sync_map_items


def failure(call) -> str:
    with pytest.raises(AssertionError) as info:
        call()
    return normalise(str(info.value))


# ------------------------------------------------------------ entry fields
def test_journal_entries_record_a_short_conversation(
    twilio_client, sync_map, sync_faults, sync_server
):
    sync_faults.conflict(key="k")
    api = items_api(twilio_client, sync_map)
    api.create(key="k", data={"v": 1})
    api("k").fetch()
    with pytest.raises(TwilioRestException):
        api("k").update(data={"v": 2}, if_match="1")
    api("k").update(data={"v": 2}, if_match="1")
    # twilio-python 9.13 drops If-Match on delete (CLIENTS.md), so send it by hand
    deleted = requests.delete(
        sync_map.items_url + "/k", headers={"If-Match": "2"}, auth=sync_server.auth
    )
    assert deleted.status_code == 204

    entries = sync_server.journal.entries
    base = f"/v1/Services/{sync_map.service_sid}/Maps/{sync_map.sid}/Items"
    summary = [
        (
            e.seq,
            e.method,
            e.path,
            e.operation,
            e.map,
            e.key,
            e.form,
            e.if_match,
            e.status,
            e.code,
            e.revision_before,
            e.revision_after,
            e.fault,
        )
        for e in entries
    ]
    data1, data2 = {"Key": "k", "Data": '{"v": 1}'}, {"Data": '{"v": 2}'}
    mp = sync_map.sid
    assert summary == [
        (1, "POST", base, "CreateSyncMapItem", mp, "k", data1, None, 201, None, None, "1", None),
        (2, "GET", base + "/k", "FetchSyncMapItem", mp, "k", {}, None, 200, None, "1", "1", None),
        (3, "POST", base + "/k", "UpdateSyncMapItem", mp, "k", data2, "1", 412, 54205, "1", "1",
         "conflict"),
        (4, "POST", base + "/k", "UpdateSyncMapItem", mp, "k", data2, "1", 200, None, "1", "2",
         None),
        (5, "DELETE", base + "/k", "DeleteSyncMapItem", mp, "k", {}, "2", 204, None, "2", None,
         None),
    ]  # fmt: skip
    assert [e.ok for e in entries] == [True, True, False, True, True]
    assert [e.is_write for e in entries] == [True, False, True, True, True]
    assert sync_server.journal.find(key="k", status=412) == [entries[2]]
    assert sync_server.journal.last(operation="UpdateSyncMapItem") == entries[3]
    assert sync_server.journal.last(status=500) is None
    assert entries[1].query == {}


def test_journal_records_errors_and_query_strings(sync_map, sync_server):
    answer = requests.get(
        sync_map.items_url, params={"PageSize": "2", "Order": "desc"}, auth=sync_server.auth
    )
    assert answer.status_code == 200
    missing = requests.get(sync_map.items_url + "/nope", auth=sync_server.auth)
    assert missing.status_code == 404
    listing, miss = sync_server.journal.entries
    assert (listing.operation, listing.query, listing.key) == (
        "ListSyncMapItem",
        {"PageSize": "2", "Order": "desc"},
        None,
    )
    assert (miss.status, miss.code, miss.revision_before, miss.revision_after) == (
        404,
        54201,
        None,
        None,
    )


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_race_journal_shows_the_revision_the_race_produced(
    twilio_client, sync_map, sync_faults, sync_server
):
    sync_faults.race(key="k", data={"v": 9})
    with pytest.raises(TwilioRestException):
        items_api(twilio_client, sync_map)("k").update(data={"v": 2}, if_match="1")
    assert sync_map.item("k").revision == 2
    entry = sync_server.journal.last(key="k")
    assert (entry.status, entry.fault) == (412, "race")
    # the item this 412 was answered against (and left) is at revision 2
    assert entry.revision_after == "2"


# ------------------------------------------------------------ bounded size
def _entry(seq: int) -> JournalEntry:
    return JournalEntry(seq=seq, method="GET", path=f"/p{seq}", operation=None)


def test_journal_is_bounded_and_counts_dropped_entries():
    journal = Journal(size=3)
    for _ in range(5):
        journal.record(_entry(journal.next_seq()))
    assert [e.seq for e in journal.entries] == [3, 4, 5]
    assert len(journal) == 3
    assert journal.dropped == 2
    journal.clear()
    assert (len(journal), journal.dropped, journal.next_seq()) == (0, 0, 1)


def test_journal_table_limits_rows_and_says_so():
    entries = [_entry(i) for i in range(1, 6)]
    table = Journal.table(entries, limit=2).splitlines()
    assert table[0] == TABLE_HEADER
    assert table[1] == "     ... 3 earlier request(s) not shown"
    assert [line.split()[0] for line in table[2:]] == ["4", "5"]
    assert Journal.table([]).splitlines() == [TABLE_HEADER, "     (no requests)"]


def test_entry_matches_ignores_none_criteria():
    entry = _entry(1)
    assert entry.matches(method="GET", key=None)
    assert not entry.matches(method="POST")


# --------------------------------------------------------- cleared per test
def test_journal_and_faults_are_cleared_between_tests(pytester):
    pytester.makepyfile(
        """
        import requests

        def test_first(sync_map, sync_server, sync_faults):
            sync_faults.server_error(times=None, expect_fired=False)
            for _ in range(3):
                requests.get(sync_map.items_url, auth=sync_server.auth)
            assert len(sync_server.journal) == 3

        def test_second(sync_map, sync_server):
            assert sync_server.faults.faults == []
            answer = requests.get(sync_map.items_url, auth=sync_server.auth)
            assert answer.status_code == 200
            assert [e.seq for e in sync_server.journal.entries] == [1]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


# ------------------------------------------------------------ unfired faults
def test_unfired_fault_fails_the_call_phase(pytester):
    pytester.makepyfile(
        """
        import pytest

        def test_forgot(sync_faults):
            sync_faults.conflict(key="k")

        @pytest.mark.sync_fault("server_error", key="x")
        def test_forgot_marker(sync_server):
            pass
        """
    )
    reports = pytester.inline_run()
    failed = [r for r in reports.getreports("pytest_runtest_logreport") if r.failed]
    assert [(r.nodeid.split("::")[1], r.when) for r in failed] == [
        ("test_forgot", "call"),
        ("test_forgot_marker", "call"),
    ]
    assert "1 fault(s) were set up but never fired" in str(failed[0].longrepr)
    assert "conflict key=k fired 0/1" in str(failed[0].longrepr)
    assert "server_error key=x fired 0/1" in str(failed[1].longrepr)
    reports.assertoutcome(failed=2)


def test_unfired_fault_opt_outs(pytester):
    pytester.makepyfile(
        """
        import pytest

        def test_expect_fired_false(sync_faults):
            sync_faults.conflict(key="k", expect_fired=False)

        def test_allow_unfired(sync_faults):
            sync_faults.conflict(key="k")
            sync_faults.server_error(status=503)
            sync_faults.allow_unfired()

        @pytest.mark.sync_fault("conflict", key="k", expect_fired=False)
        def test_marker_opt_out(sync_server):
            pass

        def test_strict_again_after_allow_unfired(sync_faults):
            assert sync_faults.plan.strict
            sync_faults.conflict(key="k")
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["FAILED *test_strict_again_after_allow_unfired*"])


def test_a_failing_test_is_not_also_blamed_for_unfired_faults(pytester):
    pytester.makepyfile(
        """
        def test_fails_first(sync_faults):
            sync_faults.conflict(key="k")
            assert 1 == 2, "the test's own failure"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the test's own failure*"])
    result.stdout.no_fnmatch_line("*never fired*")


LEAK_SUITE = """
import pytest
import requests

@pytest.mark.parametrize("n", range(8))
def test_leaves_faults_behind(sync_map, sync_server, sync_faults, n):
    sync_faults.server_error(times=None, expect_fired=False)
    sync_faults.delay(2.0, times=None, expect_fired=False)
    sync_faults.reset(times=None, expect_fired=False)

@pytest.mark.parametrize("n", range(8))
@pytest.mark.sync_fault("not_found", times=None, expect_fired=False)
def test_marker_faults_too(sync_server, n):
    assert len(sync_server.faults) == 1

@pytest.mark.parametrize("n", range(8))
def test_sees_no_fault(sync_map, sync_server, n):
    assert sync_server.faults.faults == []
    answer = requests.get(sync_map.items_url, auth=sync_server.auth, timeout=1)
    assert answer.status_code == 200
    assert [e.fault for e in sync_server.journal.entries] == [None]
"""


def test_faults_do_not_leak_between_tests(pytester):
    pytester.makepyfile(LEAK_SUITE)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=24)


def test_faults_do_not_leak_between_tests_under_xdist(pytester):
    pytester.makepyfile(LEAK_SUITE)
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "-p", "no:randomly")
    result.assert_outcomes(passed=24)


# ------------------------------------------------------------ report section
REPORT_SUITE = """
import pytest

def test_fails(twilio_client, sync_map, sync_faults):
    sync_faults.server_error(status=503, operation="fetch")
    api = twilio_client.sync.v1.services(sync_map.service_sid).sync_maps(
        sync_map.sid).sync_map_items
    api.create(key="k", data={"v": 1})
    try:
        api("k").fetch()
    except Exception:
        pass
    api("k").fetch()
    assert False, "boom"

def test_passes(sync_map, sync_server):
    pass

def test_fails_without_server():
    assert False
"""


def _section_lines(stdout_lines: list[str]) -> list[str]:
    for i, line in enumerate(stdout_lines):
        if re.fullmatch(r"-+ pytest-syncmap journal -+", line):
            end = i + 1
            while end < len(stdout_lines) and not re.match(r"^(=|_)+ ", stdout_lines[end]):
                end += 1
            return stdout_lines[i:end]
    return []


def test_failing_test_report_has_the_journal_section(pytester):
    pytester.makepyfile(REPORT_SUITE)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=2, passed=1)
    section = _section_lines(result.stdout.lines)
    assert section, result.stdout.str()
    section[0] = re.sub(r"^-+ (.*) -+$", r"--- \1 ---", section[0])
    assert normalise("\n".join(section)).splitlines() == [
        "--- pytest-syncmap journal ---",
        normalise(TABLE_HEADER),
        " 1 POST .../Maps/<MP>/Items 201 -->1 map[k]",
        " 2 GET .../Maps/<MP>/Items/k 503 20503 1->1 map[k] server_error",
        " 3 GET .../Maps/<MP>/Items/k 200 1->1 map[k]",
        "faults:",
        " - server_error operation=FetchSyncMapItem/FetchSyncListItem/FetchDocument fired 1/1",
    ]
    # only the failing test that used the emulator gets the section
    assert result.stdout.str().count("pytest-syncmap journal") == 1


def test_report_section_header_line_is_exact(pytester):
    pytester.makepyfile(REPORT_SUITE)
    result = pytester.runpytest("-p", "no:randomly", "-k", "test_fails and not without")
    section = _section_lines(result.stdout.lines)
    assert section, result.stdout.str()
    assert re.sub(r"^-+ (.*) -+$", r"--- \1 ---", section[0]) == "--- pytest-syncmap journal ---"
    assert section[1] == TABLE_HEADER


def test_report_section_is_in_the_junit_and_report_sections(pytester):
    pytester.makepyfile(REPORT_SUITE)
    reports = pytester.inline_run("-p", "no:randomly")
    failed = [r for r in reports.getreports("pytest_runtest_logreport") if r.failed]
    by_name = {r.nodeid.split("::")[1]: dict(r.sections) for r in failed}
    assert "pytest-syncmap journal" in by_name["test_fails"]
    assert by_name["test_fails"]["pytest-syncmap journal"].startswith(TABLE_HEADER + "\n")
    assert "pytest-syncmap journal" not in by_name["test_fails_without_server"]


def test_no_journal_option_removes_the_section(pytester):
    pytester.makepyfile(REPORT_SUITE)
    result = pytester.runpytest("-p", "no:randomly", "--syncmap-no-journal")
    result.assert_outcomes(failed=2, passed=1)
    assert "pytest-syncmap journal" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*AssertionError: boom*"])


# ------------------------------------------------------------- golden texts
@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_golden_assert_item_wrong_data(twilio_client, sync_map):
    items_api(twilio_client, sync_map)("k").update(data={"v": 2})
    assert failure(lambda: sync_map.assert_item("k", {"v": 3})) == (
        'item \'k\' of Map <MP> should hold {"v": 3}, but it holds {"v":2} (revision 2)\n'
        "requests for this key (journal):\n" + normalise(TABLE_HEADER) + "\n"
        " 1 POST .../Maps/<MP>/Items/k 200 1->2 map[k]"
    )
    sync_map.assert_item("k", {"v": 2})


def test_golden_assert_item_missing(twilio_client, sync_map):
    items_api(twilio_client, sync_map).create(key="other", data={})
    assert failure(lambda: sync_map.assert_item("k", {"v": 1})) == (
        "item 'k' of Map <MP> should hold {\"v\": 1}, but it does not exist\n"
        "latest requests (journal):\n" + normalise(TABLE_HEADER) + "\n"
        " 1 POST .../Maps/<MP>/Items 201 -->1 map[other]"
    )


def test_golden_assert_no_item(sync_map):
    sync_map.put("k", {"a": [1, 2]})
    assert failure(lambda: sync_map.assert_no_item("k")) == (
        "item 'k' of Map <MP> should not exist, but it holds {\"a\":[1,2]} (revision 1)\n"
        "latest requests (journal):\n" + normalise(TABLE_HEADER) + "\n (no requests)"
    )
    sync_map.assert_no_item("absent")


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_golden_assert_written(twilio_client, sync_map):
    api = items_api(twilio_client, sync_map)
    api("k").update(data={"v": 2})
    api("k").fetch()
    sync_map.assert_written("k", 1)
    assert failure(lambda: sync_map.assert_written("k", 2)) == (
        "item 'k' of Map <MP> should have been written 2 time(s), but was written 1 time(s)\n"
        "requests for this key (journal):\n" + normalise(TABLE_HEADER) + "\n"
        " 1 POST .../Maps/<MP>/Items/k 200 1->2 map[k]\n"
        " 2 GET .../Maps/<MP>/Items/k 200 2->2 map[k]"
    )


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_golden_assert_retried_after_conflict_without_conflict(twilio_client, sync_map):
    items_api(twilio_client, sync_map)("k").update(data={"v": 2}, if_match="1")
    assert failure(lambda: sync_map.assert_retried_after_conflict("k")) == (
        "item 'k' of Map <MP>: expected a conditional write answered 412 and then retried, "
        "but no request for it was answered 412\n"
        "requests for this key (journal):\n" + normalise(TABLE_HEADER) + "\n"
        " 1 POST .../Maps/<MP>/Items/k 200 1->2 map[k]"
    )


@pytest.mark.sync_map(items={"k": {"v": 1}})
def test_golden_assert_retried_after_conflict_without_retry(twilio_client, sync_map, sync_faults):
    sync_faults.conflict(key="k")
    api = items_api(twilio_client, sync_map)("k")
    with pytest.raises(TwilioRestException):
        api.update(data={"v": 2}, if_match="1")
    api.update(data={"v": 2})  # a later write, but not a conditional one
    assert failure(lambda: sync_map.assert_retried_after_conflict("k")) == (
        "item 'k' of Map <MP>: a conditional write was answered 412, but no later "
        "conditional write succeeded\n"
        "requests for this key (journal):\n" + normalise(TABLE_HEADER) + "\n"
        " 1 POST .../Maps/<MP>/Items/k 412 54205 1->1 map[k] conflict\n"
        " 2 POST .../Maps/<MP>/Items/k 200 1->2 map[k]"
    )


def test_golden_unfired_fault_message(pytester):
    pytester.makepyfile(
        """
        def test_forgot(sync_map, sync_faults, sync_server):
            import requests
            requests.get(sync_map.items_url, auth=sync_server.auth)
            sync_faults.conflict(key="k")
            sync_faults.server_error(status=503, operation="fetch", map=sync_map, times=None)
        """
    )
    reports = pytester.inline_run()
    (failed,) = [r for r in reports.getreports("pytest_runtest_logreport") if r.failed]
    assert failed.when == "call"
    message = normalise(failed.longrepr.reprcrash.message)
    assert message == (
        "AssertionError: pytest-syncmap: 2 fault(s) were set up but never fired:\n"
        " - conflict key=k fired 0/1\n"
        " - server_error operation=FetchSyncMapItem map=<MP> fired 0/always\n"
        "The code under test never made the request they wait for. Pass expect_fired=False "
        "(or call sync_faults.allow_unfired()) if that is fine.\n"
        "requests this test made (journal):\n" + normalise(TABLE_HEADER) + "\n"
        " 1 GET .../Maps/<MP>/Items 200 map"
    )


def test_golden_no_unexpected_failures_message(sync_map, sync_server):
    requests.get(sync_map.items_url + "/nope", auth=sync_server.auth)
    assert failure(sync_server.assert_no_unexpected_failures) == (
        "1 request(s) failed without an injected fault:\n" + normalise(TABLE_HEADER) + "\n"
        " 1 GET .../Maps/<MP>/Items/nope 404 54201 map[nope]"
    )


# ------------------------------------------------------ every kind, golden
def normalise_kinds(text: str) -> str:
    """:func:`normalise`, for the SIDs and paths of every kind."""
    text = re.sub(r"\b(ES|ET|TO|TZ)[0-9a-f]{32}\b", r"<\1>", text)
    text = re.sub(r"\.\.\.[0-9a-f]*/(Maps|Lists|Documents|Streams)/", r".../\1/", text)
    return normalise(text)


def test_golden_table_of_every_kind(
    twilio_client, sync_service, sync_server, sync_webhooks, sync_faults
):
    service = twilio_client.sync.v1.services(sync_service.sid)

    def settled(call):
        result = call()
        assert sync_server.webhooks.wait_idle()  # its webhook journalled before going on
        return result

    settled(lambda: service.documents.create(unique_name="doc", data={"v": 1}))
    sync_faults.conflict(document="doc")
    with pytest.raises(TwilioRestException):
        service.documents("doc").update(data={"v": 2}, if_match="0")
    chat = settled(lambda: service.sync_lists.create(unique_name="chat"))
    settled(lambda: service.sync_lists("chat").sync_list_items.create(data={"m": 1}))
    service.sync_lists(chat.sid).sync_list_items(0).fetch()
    service.sync_lists("chat").sync_list_permissions("ann").update(
        read=True, write=False, manage=False
    )
    stream = service.sync_streams.create()
    service.sync_streams(stream.sid).stream_messages.create(data={"on": True})
    cart = settled(lambda: service.sync_maps.create())
    settled(lambda: service.sync_maps(cart.sid).sync_map_items.create(key="k", data={}))
    service.fetch()

    table = normalise_kinds(Journal.table(sync_server.journal.entries))
    # The object column names the kind, the unique name and the key or index, whether
    # the path used the SID or the name; a webhook shows its event and object.
    assert table.splitlines() == [
        normalise(TABLE_HEADER),
        " 1 POST /v1/Services/<IS>/Documents 201 -->0 document doc",
        " 2 POST webhook document_created 200 document doc",
        " 3 POST ...Services/<IS>/Documents/doc 412 54103 0->0 document doc conflict",
        " 4 POST /v1/Services/<IS>/Lists 201 list chat",
        " 5 POST webhook list_created 200 list chat",
        " 6 POST ...vices/<IS>/Lists/chat/Items 201 -->1 list chat[0]",
        " 7 POST webhook list_item_added 200 list chat[0]",
        " 8 GET .../Lists/<ES>/Items/0 200 1->1 list chat[0]",
        " 9 POST .../Lists/chat/Permissions/ann 200 list chat perm[ann]",
        " 10 POST /v1/Services/<IS>/Streams 201 stream",
        " 11 POST .../Streams/<TO>/Messages 201 stream",
        " 12 POST /v1/Services/<IS>/Maps 201 map",
        " 13 POST webhook map_created 200 map",
        " 14 POST .../Maps/<MP>/Items 201 -->1 map[k]",
        " 15 POST webhook map_item_added 200 map[k]",
        " 16 GET /v1/Services/<IS> 200 service",
    ]
    # Columns stay aligned: the object column starts at the same place on every row.
    raw_rows = Journal.table(sync_server.journal.entries).splitlines()
    starts = {row.index(" document ") for row in raw_rows[1:4]}
    assert starts == {raw_rows[0].index(" object ")}


def test_a_faulted_request_names_the_object_it_addressed(
    twilio_client, sync_service, sync_server, sync_faults
):
    """A fault not tied to an object still leaves the row naming what the path addressed."""
    service = twilio_client.sync.v1.services(sync_service.sid)
    service.sync_lists.create(unique_name="chat")
    service.sync_lists("chat").sync_list_items.create(data={"m": 1})
    service.documents.create(unique_name="doc")
    sync_faults.server_error(times=2)
    with pytest.raises(TwilioRestException):
        service.sync_lists("chat").sync_list_items(0).fetch()
    with pytest.raises(TwilioRestException):
        service.documents("doc").fetch()
    faulted = sync_server.journal.find(fault="server_error")
    assert [entry.addressed() for entry in faulted] == ["list chat[0]", "document doc"]
    assert all(entry.object_sid is not None for entry in faulted)
    rows = Journal.table(faulted).splitlines()[1:]
    assert [row.split()[-2:] for row in rows] == [
        ["chat[0]", "server_error"],
        ["doc", "server_error"],
    ]
