"""Coverage you can see: the spec's operations against the router's table and the README.

Every operation of Twilio's ``twilio_sync_v1.json`` must be served on its method and
path, the router must serve nothing the spec lacks, the README's coverage table must
be what ``scripts/coverage.py`` generates, and the strict response checks of
``conftest.py`` must cover every resource and every ``ETag`` the spec declares. The
tests that need the spec skip, naming ``SYNCMAP_OAI_SPEC``, when it is not set.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import ETAG_OPERATIONS, SPEC_ENV, SPEC_HOW, STRICT_SCHEMAS

from pytest_syncmap.http.app import ROUTER

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "coverage.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("syncmap_coverage_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


coverage = _load_script()


@pytest.fixture(scope="module")
def spec_path() -> str:
    path = os.environ.get(SPEC_ENV)
    if not path:
        pytest.skip(f"{SPEC_ENV} is not set: the coverage checks need it; {SPEC_HOW}")
    return path


@pytest.fixture(scope="module")
def spec(spec_path: str) -> dict[str, Any]:
    with open(spec_path, encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


def test_router_serves_every_operation_of_the_spec(spec):
    rows = coverage.coverage_rows(spec)
    missing = [
        f"{r.operation.method} {r.operation.path} ({r.operation.id})"
        for r in rows
        if not r.emulated
    ]
    assert missing == [], "operations of the spec the router does not serve:\n" + "\n".join(missing)
    assert len(rows) == len(coverage.spec_operations(spec)) == 48


def test_router_serves_nothing_the_spec_lacks(spec):
    ids = {op.id for op in coverage.spec_operations(spec)}
    served = [op.id for _, _, op in ROUTER.operations()]
    assert sorted(served) == sorted(ids)  # each once, none extra


def test_router_reads_if_match_exactly_where_the_spec_declares_it(spec):
    declared = {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        and any(p.get("name") == "If-Match" for p in op.get("parameters", []))
    }
    reads = {op.id for _, _, op in ROUTER.operations() if op.if_match}
    # DeleteDocument lost If-Match from the spec in 2021; read by choice (SYNC_OTHER Q12).
    assert reads == declared | {"DeleteDocument"}


def test_readme_table_is_up_to_date(spec_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--spec", spec_path, "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_check_mode_catches_a_stale_table(spec_path, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{coverage.START}\n| stale |\n{coverage.END}\n", encoding="utf-8")
    assert coverage.main(["--spec", spec_path, "--readme", str(readme), "--check"]) == 1
    assert "| stale |" in readme.read_text(encoding="utf-8")
    assert coverage.main(["--spec", spec_path, "--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "| stale |" not in text
    assert "`CreateStreamMessage`" in text
    assert text.startswith("# x\n\n")
    assert coverage.main(["--spec", spec_path, "--readme", str(readme), "--check"]) == 0


def test_a_missing_operation_shows_in_the_table(spec):
    router = type(ROUTER)(route for route in ROUTER.routes if "Streams" not in route.template)
    rows = coverage.coverage_rows(spec, router)
    missing = {r.operation.id for r in rows if not r.emulated}
    assert missing == {
        "ListSyncStream",
        "CreateSyncStream",
        "FetchSyncStream",
        "UpdateSyncStream",
        "DeleteSyncStream",
        "CreateStreamMessage",
    }
    table = coverage.render_table(rows)
    row = (
        "| StreamMessage | `CreateStreamMessage` | POST "
        "| `/v1/Services/{ServiceSid}/Streams/{StreamSid}/Messages` | **no** |"
    )
    assert row in table.splitlines()
    assert table.endswith("42 of the 48 operations of `twilio_sync_v1.json` are emulated.")


def test_readme_without_markers_is_an_error():
    with pytest.raises(ValueError, match="coverage:start"):
        coverage.replace_table("# no markers\n", "| table |")


def test_strict_schemas_cover_every_resource_of_the_spec(spec):
    resources = {
        name
        for name in spec["components"]["schemas"]
        if name.startswith("sync.v1.") and "_enum_" not in name
    }
    assert resources == STRICT_SCHEMAS


def test_etag_operations_are_those_the_spec_declares(spec):
    declared = {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        and any("ETag" in r.get("headers", {}) for r in op.get("responses", {}).values())
    }
    assert declared == ETAG_OPERATIONS
