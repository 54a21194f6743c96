"""The official Node helper library (``twilio@6.2.0``) against the standalone emulator.

``tests/node/sync_scenario.js`` runs a Sync scenario through ``client.sync.baseUrl``
and prints a JSON summary: a Map (create, fetch, conditional update and delete, 412s,
paging, 404 after delete), a Document (conditional update replacing the data, a stale
one refused), a List (appends, removes leaving gaps, conditional update and remove,
listings across the gaps in both orders, a permission) and a Stream (a message
published, one over 4 KiB refused). This test starts ``python -m pytest_syncmap`` in a
subprocess, runs the script with ``node``, checks the summary and cross-checks the
emulator's state and journal over plain HTTP.

The npm package is installed by an explicit step, never by the test (see
``tests/node_setup.py``): ``npm install --prefix .node twilio@6.2.0`` in the checkout
(``.ci/run`` does it), or ``SYNCMAP_NODE_MODULES`` naming a ``node_modules`` that holds
it. Without Node.js or the package the test skips, and the reason names that step.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from node_setup import twilio_node_modules

SCRIPT = Path(__file__).parent / "node" / "sync_scenario.js"
NODE_TIMEOUT = 60
TIMEOUT = 10
KEYS = ["k1", "k2", "k3", "k4", "k5"]

# Not the plugin's defaults: proves the script authenticates with what it is given.
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "node-scenario-token"


def _first_line(proc: subprocess.Popen[str], timeout: float = TIMEOUT) -> str:
    """The child's first stdout line, without hanging if it never comes."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"the emulator printed nothing within {timeout} s")
    return proc.stdout.readline().rstrip("\n")


@pytest.fixture
def emulator_url(tmp_path: Path) -> Iterator[str]:
    """``python -m pytest_syncmap`` in a subprocess; always terminated afterwards."""
    prefix = "pytest-syncmap listening on "
    with (tmp_path / "emulator.stderr").open("w+") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest_syncmap",
                "--port",
                "0",
                "--account-sid",
                SID,
                "--auth-token",
                TOKEN,
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            line = _first_line(proc)
            if not line.startswith(prefix):
                stderr.seek(0)
                raise AssertionError(
                    f"unexpected first line {line!r} from the emulator\n{stderr.read()}"
                )
            yield line[len(prefix) :]
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=TIMEOUT)
            if proc.stdout is not None:
                proc.stdout.close()


def _get(url: str) -> Any:
    answer = requests.get(url, auth=(SID, TOKEN), timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_node_twilio_client_scenario(emulator_url: str) -> None:
    node_modules = twilio_node_modules()
    env = {
        **os.environ,
        "NODE_PATH": str(node_modules),
        "BASE_URL": emulator_url,
        "ACCOUNT_SID": SID,
        "AUTH_TOKEN": TOKEN,
    }
    env.pop("NODE_OPTIONS", None)  # no preloads (e.g. a twilio-cli redirect) in the way
    done = subprocess.run(
        ["node", str(SCRIPT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (
        f"node {SCRIPT.name} exited {done.returncode}\n"
        f"--- stderr ---\n{done.stderr}\n--- stdout ---\n{done.stdout}"
    )
    summary = json.loads(done.stdout)

    assert summary["created"] == KEYS
    assert summary["map"]["uniqueName"] == "node-map"
    assert summary["update"]["before"] != summary["update"]["after"]
    assert summary["update"]["data"] == {"n": 10}
    assert summary["listed"] == KEYS
    assert summary["limited"] == KEYS[:3]
    assert summary["firstPage"] == ["k1", "k2"]
    assert summary["secondPage"] == ["k3", "k4"]
    assert summary["desc"] == KEYS[::-1]
    assert summary["deleted"] == ["k2", "k1"]
    assert summary["remaining"] == ["k3", "k4", "k5"]
    assert [(e["step"], e["status"], e["code"]) for e in summary["errors"]] == [
        ("update with stale ifMatch", 412, 54205),
        ("remove with stale ifMatch", 412, 54205),
        ("fetch deleted", 404, 54201),
        ("fetch conditionally deleted", 404, 54201),
        ("document update with stale ifMatch", 412, 54103),
        ("list item update with stale ifMatch", 412, 54155),
        ("list item remove with stale ifMatch", 412, 54155),
        ("fetch removed list item", 404, 54151),
        ("stream message over 4 KiB", 413, 54006),
        ("publish to an unknown stream", 404, 54300),
    ]
    assert summary["document"]["data"] == {"state": "answered"}
    assert summary["document"]["revisions"][0] != summary["document"]["revisions"][1]
    node_list = summary["list"]
    assert node_list["asc"] == [0, 1, 4, 5]
    assert node_list["desc"] == [5, 4, 1, 0]
    assert node_list["fromGap"] == [4, 5]
    assert node_list["fromGapDesc"] == [1, 0]
    assert node_list["pages"] == [[0, 1, 4], [5]]
    assert node_list["appendedAfterRemoves"] == 6  # indexes are never reused
    assert node_list["data"] == [{"n": 0}, {"n": 10}, {"n": 4}, {"n": 5}]
    assert node_list["permissions"] == [["alice@example.com", True, False, False]]
    assert summary["stream"]["message"]["data"] == {"typing": True, "who": "alice"}

    # The journal shows what the Node client actually sent (read first: the plain
    # HTTP check below is journalled too).
    entries = _get(f"{emulator_url}/_syncmap/journal")["entries"]
    stale, current = summary["update"]["before"], summary["update"]["after"]
    deletes = [
        (e["key"], e["if_match"], e["status"], e["code"])
        for e in entries
        if e["operation"] == "DeleteSyncMapItem"
    ]
    assert deletes == [
        ("k2", None, 204, None),
        ("k1", stale, 412, 54205),
        ("k1", current, 204, None),
    ]
    updates = [
        (e["if_match"], e["status"], e["code"])
        for e in entries
        if e["operation"] == "UpdateSyncMapItem"
    ]
    assert updates == [(stale, 200, None), (stale, 412, 54205)]
    creates = [e["form"] for e in entries if e["operation"] == "CreateSyncMapItem"]
    assert [form["Key"] for form in creates] == KEYS
    assert json.loads(creates[0]["Data"]) == {"n": 1, "name": "item k1"}
    # list({pageSize: 2}) over 5 items walks 3 pages (next_page_url followed), and
    # every list request asks for PageSize=2.
    pages = [
        e["query"] for e in entries if e["operation"] == "ListSyncMapItem" and e["status"] == 200
    ]
    assert pages, "no list requests in the journal"
    assert all(query.get("PageSize") == "2" for query in pages), pages
    assert [query.get("Page") for query in pages[:3]] == [None, "1", "2"]
    assert all("PageToken" in query for query in pages[1:3])

    # What the Node client sent for the other kinds: If-Match on the Document update and
    # on List Item update and remove (twilio-node, unlike twilio-python, sends it there).
    doc_before, doc_after = summary["document"]["revisions"]
    assert [
        (e["if_match"], e["status"], e["code"])
        for e in entries
        if e["operation"] == "UpdateDocument"
    ] == [(doc_before, 200, None), (doc_before, 412, 54103)]
    revisions = node_list["revisions"]
    item_writes = [
        (e["operation"], e["path"].rsplit("/", 1)[1], e["if_match"], e["status"], e["code"])
        for e in entries
        if e["operation"] in ("UpdateSyncListItem", "DeleteSyncListItem")
    ]
    assert item_writes == [
        ("UpdateSyncListItem", "1", revisions["before"], 200, None),
        ("UpdateSyncListItem", "1", revisions["before"], 412, 54155),
        ("DeleteSyncListItem", "2", None, 204, None),
        ("DeleteSyncListItem", "3", revisions["before"], 412, 54155),
        ("DeleteSyncListItem", "3", revisions["removed"], 204, None),
    ]
    list_queries = [
        e["query"] for e in entries if e["operation"] == "ListSyncListItem" and e["status"] == 200
    ]
    assert {"From": "2", "Bounds": "inclusive", "PageSize": "1"} in list_queries
    assert any(q.get("Order") == "desc" and q.get("From") == "3" for q in list_queries)
    published = [
        (json.loads(e["form"]["Data"]), e["status"], e["code"])
        for e in entries
        if e["operation"] == "CreateStreamMessage"
    ]
    assert [(data.keys(), status, code) for data, status, code in published] == [
        ({"typing", "who"}, 201, None),
        ({"blob"}, 413, 54006),
        (set(), 404, 54300),
    ]

    # The emulator's own view, over plain HTTP with the same credentials.
    service, map_sid = summary["service"], summary["map"]["sid"]
    base = f"{emulator_url}/v1/Services/{service}"
    items = _get(f"{base}/Maps/node-map/Items")["items"]
    assert [(i["key"], i["data"], i["map_sid"]) for i in items] == [
        ("k3", {"n": 3, "name": "item k3"}, map_sid),
        ("k4", {"n": 4, "name": "item k4"}, map_sid),
        ("k5", {"n": 5, "name": "item k5"}, map_sid),
    ]
    document = _get(f"{base}/Documents/node-doc")
    assert (document["sid"], document["revision"], document["data"]) == (
        summary["document"]["sid"],
        doc_after,
        {"state": "answered"},
    )
    list_items = _get(f"{base}/Lists/node-list/Items")["items"]
    assert [(i["index"], i["data"]) for i in list_items] == [
        (0, {"n": 0}),
        (1, {"n": 10}),
        (4, {"n": 4}),
        (5, {"n": 5}),
        (6, {"n": 6}),
    ]
    assert all(i["list_sid"] == node_list["sid"] for i in list_items)
    permission = _get(f"{base}/Lists/node-list/Permissions/alice%40example.com")
    assert (permission["read"], permission["write"], permission["manage"]) == (True, False, False)
    stream = _get(f"{base}/Streams/node-stream")
    assert stream["sid"] == summary["stream"]["sid"]
