"""Data nested deeper than Twilio's limit is refused by every door, as the API refuses it.

README "What it emulates": data nesting deeper than 500 levels is 400 / 54008. The
same data used to be stored when it came another way: an object marker (README: a value
the API would refuse is a usage error naming the marker), a handle write (README: writes
get the API's validation), the control plane's seed (README: bad data is the API's own
error) and a ``race`` fault's data (README: a bad setting is refused when given).
"""

from __future__ import annotations

import json

import pytest
import requests

from pytest_syncmap.domain.errors import InvalidData

pytest_plugins = ["pytester"]


def nested(levels: int) -> dict[str, object]:
    """A JSON object ``levels`` deep (the object itself is level 1)."""
    data: dict[str, object] = {}
    for _ in range(levels - 1):
        data = {"a": data}
    return data


def test_the_api_and_a_handle_agree_on_the_limit(sync_server, sync_map, sync_list, sync_document):
    deep, limit = nested(501), nested(500)
    answer = requests.post(
        f"{sync_document.url}", data={"Data": json.dumps(deep)}, auth=sync_server.auth, timeout=10
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 54008)
    for write in (
        lambda data: sync_map.put("k", data),
        lambda data: sync_list.append(data),
        lambda data: sync_document.update(data),
    ):
        with pytest.raises(InvalidData, match="nests deeper than 500 levels"):
            write(deep)
        write(limit)  # the limit itself is fine
    assert sync_document.data == limit


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "map", "unique_name": "m", "items": {"k": nested(501)}},
        {"kind": "list", "unique_name": "l", "items": [{}, nested(501)]},
        {"kind": "document", "unique_name": "d", "data": nested(501)},
    ],
    ids=["map", "list", "document"],
)
def test_the_seed_refuses_it_before_making_anything(sync_server, body):
    answer = requests.post(
        f"{sync_server.url}/_syncmap/seed", json=body, auth=sync_server.auth, timeout=10
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 54008)
    kinds = {"map": "Maps", "list": "Lists", "document": "Documents"}
    listing = requests.get(
        f"{sync_server.url}/v1/Services/default/{kinds[body['kind']]}",
        auth=sync_server.auth,
        timeout=10,
    ).json()
    assert listing[listing["meta"]["key"]] == []


def deep_text(prefix: str, levels: int, suffix: str) -> str:
    """JSON text with an object ``levels`` deep inside (built as text: too deep to dump)."""
    return prefix + '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1) + suffix


@pytest.mark.parametrize("levels", [990, 5000])
@pytest.mark.parametrize(
    ("kind", "prefix", "suffix"),
    [
        ("map", '{"kind": "map", "unique_name": "m", "items": {"k": ', "}}"),
        ("list", '{"kind": "list", "unique_name": "l", "items": [', "]}"),
        ("document", '{"kind": "document", "unique_name": "d", "data": ', "}"),
    ],
)
def test_the_seed_refuses_data_too_deep_to_parse_with_the_apis_error(
    sync_server, kind, prefix, suffix, levels
):
    """Deeper than the interpreter can parse: still the API's 54008, and nothing made."""
    answer = requests.post(
        f"{sync_server.url}/_syncmap/seed",
        data=deep_text(prefix, levels, suffix),
        headers={"Content-Type": "application/json"},
        auth=sync_server.auth,
        timeout=10,
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 54008)
    assert "nests deeper than 500 levels" in answer.json()["message"]
    kinds = {"map": "Maps", "list": "Lists", "document": "Documents"}
    listing = requests.get(
        f"{sync_server.url}/v1/Services/default/{kinds[kind]}", auth=sync_server.auth, timeout=10
    ).json()
    assert listing[listing["meta"]["key"]] == []


def test_another_control_body_that_deep_is_a_bad_body(sync_server, sync_faults):
    answer = requests.post(
        f"{sync_server.url}/_syncmap/faults",
        data=deep_text('{"kind": "race", "key": "k", "data": ', 5000, "}"),
        headers={"Content-Type": "application/json"},
        auth=sync_server.auth,
        timeout=10,
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 20001)
    assert sync_faults.faults == []


def test_a_race_with_such_data_is_refused_when_given(sync_faults, sync_server):
    with pytest.raises(ValueError, match="nests deeper than 500 levels"):
        sync_faults.race(key="k", data=nested(501))
    answer = requests.post(
        f"{sync_server.url}/_syncmap/faults",
        json={"kind": "race", "key": "k", "data": nested(501)},
        auth=sync_server.auth,
        timeout=10,
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 20001)
    assert sync_faults.faults == []


@pytest.mark.parametrize(
    "marker",
    [
        'sync_map(unique_name="m", items={"k": DEEP})',
        'sync_list(unique_name="l", items=[DEEP])',
        'sync_document(unique_name="d", data=DEEP)',
    ],
)
def test_an_object_marker_with_such_data_is_a_usage_error(pytester, marker):
    pytester.makepyfile(
        f"""
        import pytest

        DEEP = {{}}
        for _ in range(500):
            DEEP = {{"a": DEEP}}

        @pytest.mark.{marker}
        def test_it():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    name = marker.split("(")[0]
    result.stdout.fnmatch_lines([f"*UsageError: @pytest.mark.{name}: *nests deeper than 500*"])
