"""The README's coverage table: every operation of Twilio's Sync spec, served or not.

Reads the OpenAPI file (``twilio_sync_v1.json`` from twilio/twilio-oai) and the
emulator's routing table (:meth:`pytest_syncmap.http.routing.Router.operations`), and
writes one row per operation of the spec (resource, operation id, method, path, and
whether the emulator serves it) between the markers ``<!-- coverage:start -->`` and
``<!-- coverage:end -->`` in ``README.md``. An operation counts as emulated only when
the router serves that operation id on the same method and path (parameter names
aside). Operations the router serves that the spec lacks are an error.

Usage::

    python scripts/coverage.py [--spec PATH] [--readme PATH] [--check]

``--spec`` defaults to ``$SYNCMAP_OAI_SPEC``. ``--check`` writes nothing and exits 1
when the README's table is not what the spec and the router give (CI runs it through
``tests/test_coverage.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_syncmap.http.app import ROUTER
from pytest_syncmap.http.routing import Router

__all__ = [
    "END",
    "START",
    "Row",
    "SpecOperation",
    "coverage_rows",
    "main",
    "render_table",
    "replace_table",
    "spec_operations",
]

START = "<!-- coverage:start -->"
END = "<!-- coverage:end -->"
SPEC_ENV = "SYNCMAP_OAI_SPEC"
README = Path(__file__).resolve().parent.parent / "README.md"

_METHODS = ("get", "post", "delete", "put", "patch")
_PARAM = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class SpecOperation:
    """One operation of the spec."""

    id: str
    method: str
    path: str
    #: The spec's tag without its ``SyncV1`` prefix: ``Document``, ``SyncListItem``...
    resource: str


@dataclass(frozen=True)
class Row:
    """One line of the coverage table."""

    operation: SpecOperation
    emulated: bool


def spec_operations(spec: Mapping[str, Any]) -> list[SpecOperation]:
    """Every operation of the spec, in the spec's order."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, Mapping) or "operationId" not in op:
                continue
            tags = op.get("tags") or ["?"]
            resource = str(tags[0]).removeprefix("SyncV1")
            found.append(SpecOperation(op["operationId"], method.upper(), path, resource))
    return found


def _shape(path: str) -> str:
    """A path with its parameters blanked (``{ServiceSid}`` and ``{service}`` alike)."""
    return _PARAM.sub("{}", path)


def coverage_rows(spec: Mapping[str, Any], router: Router = ROUTER) -> list[Row]:
    """One row per spec operation: emulated operations in the router's table order
    (Services, then each object kind with its items and permissions), the rest after.

    Raises ``ValueError`` if the router serves an operation id the spec does not have.
    """
    operations = spec_operations(spec)
    by_id = {op.id: op for op in operations}
    rows: list[Row] = []
    served: set[str] = set()
    for method, template, op in router.operations():
        spec_op = by_id.get(op.id)
        if spec_op is None:
            raise ValueError(f"the router serves {op.id} ({method} {template}), not in the spec")
        if spec_op.method == method and _shape(spec_op.path) == _shape(template):
            rows.append(Row(spec_op, True))
            served.add(op.id)
    rows.extend(Row(op, False) for op in operations if op.id not in served)
    return rows


def render_table(rows: Sequence[Row]) -> str:
    """The Markdown table, with a one-line summary under it."""
    lines = [
        "| resource | operation | method | path | emulated |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        op = row.operation
        mark = "yes" if row.emulated else "**no**"
        lines.append(f"| {op.resource} | `{op.id}` | {op.method} | `{op.path}` | {mark} |")
    emulated = sum(row.emulated for row in rows)
    lines.append("")
    lines.append(f"{emulated} of the {len(rows)} operations of `twilio_sync_v1.json` are emulated.")
    return "\n".join(lines)


def replace_table(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table``."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README has no {START} ... {END} block")
    return f"{readme[: start + len(START)]}\n{table}\n{readme[end:]}"


def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


def main(argv: Iterable[str] | None = None) -> int:
    """Write (or with ``--check``, verify) the README's coverage table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default=os.environ.get(SPEC_ENV), help=f"default: ${SPEC_ENV}")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--check", action="store_true", help="verify only; exit 1 if stale")
    args = parser.parse_args(None if argv is None else list(argv))
    if not args.spec:
        parser.error(f"no spec: pass --spec or set {SPEC_ENV}")
    table = render_table(coverage_rows(_load(args.spec)))
    current = args.readme.read_text(encoding="utf-8")
    updated = replace_table(current, table)
    if args.check:
        if updated != current:
            print(
                f"{args.readme}: the coverage table is out of date; run python scripts/coverage.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if updated != current:
        args.readme.write_text(updated, encoding="utf-8")
    print(table.splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
