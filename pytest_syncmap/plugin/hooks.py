"""The plugin's pytest hooks: options, markers, fixture order, failures and reports."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from pytest_syncmap.http.faults import KINDS
from pytest_syncmap.http.journal import Journal

from .context import SERVER_KEY
from .markers import OBJECT_MARKERS

__all__ = [
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--syncmap-no-journal``: leave the journal section out of failure reports."""
    group = parser.getgroup("syncmap", "pytest-syncmap (Twilio Sync Map emulator)")
    group.addoption(
        "--syncmap-no-journal",
        action="store_true",
        default=False,
        help="do not add the emulator's request journal to the report of a failing test",
    )


#: Markers that request their fixture, so a marker is never silently ignored.
_MARKER_FIXTURES = (
    *((name, name) for name in OBJECT_MARKERS),
    ("sync_fault", "sync_faults"),
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers request their fixtures; ``sync_clock`` is set up first, ``sync_webhooks`` next.

    A ``@pytest.mark.sync_clock``, ``sync_map``, ``sync_list``, ``sync_document``,
    ``sync_stream`` or ``sync_fault`` marker requests its fixture by itself (the pattern
    of time-machine's marker), so it is never silently ignored. Time is frozen before
    other fixtures write (a ``sync_map(ttl=...)`` Map is created in frozen time), and
    the test's Service is wired to the webhook receiver before anything is created in
    it: a test sees the same events (``map_created``, ``list_created``, the seed items)
    whatever the order of its fixture arguments.
    """
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None:
            continue
        marked = {mark.name for mark in item.iter_markers()}  # one pass for every marker
        for marker, fixture in _MARKER_FIXTURES:
            if marker in marked and fixture not in names:
                names.append(fixture)
        first = []
        if "sync_clock" in names or "sync_clock" in marked:
            first.append("sync_clock")
        if "sync_webhooks" in names:
            first.append("sync_webhooks")
        if first:
            names[:] = first + [name for name in names if name not in first]


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers so ``--strict-markers`` accepts them and ``--markers`` lists them."""
    for marker in OBJECT_MARKERS.values():
        config.addinivalue_line("markers", marker.line())
    config.addinivalue_line(
        "markers",
        "sync_clock(start): start the sync_clock fixture's frozen time at `start` "
        "(a datetime or an ISO 8601 string such as '2025-01-31T12:00:00Z').",
    )
    config.addinivalue_line(
        "markers",
        "sync_fault(kind, **settings): schedule a fault as sync_faults.<kind>(**settings) "
        f"would (the marker alone requests sync_faults); kinds: {', '.join(KINDS)}. "
        "Stackable.",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail the test itself (not its teardown) with errors raised inside the emulator."""
    try:
        result = yield
    except BaseException:
        _raise_server_errors(item)
        raise
    _raise_server_errors(item)
    _fail_unfired(item)
    return result


def _fail_unfired(item: pytest.Item) -> None:
    __tracebackhide__ = True
    server = item.stash.get(SERVER_KEY, None)
    if server is None or not server.faults.strict:
        return
    unfired = server.faults.unfired()
    if unfired:
        listing = "\n".join(f"  - {fault.describe()}" for fault in unfired)
        raise AssertionError(
            f"pytest-syncmap: {len(unfired)} fault(s) were set up but never fired:\n{listing}\n"
            "The code under test never made the request they wait for. Pass "
            "expect_fired=False (or call sync_faults.allow_unfired()) if that is fine.\n"
            "requests this test made (journal):\n" + Journal.table(server.journal.entries)
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the emulator's journal to the report of a failing test that used it."""
    report = yield
    if report.failed and report.when == "call":
        server = item.stash.get(SERVER_KEY, None)
        if server is not None and not item.config.getoption("syncmap_no_journal"):
            body = Journal.table(server.journal.entries)
            if server.faults.faults:
                body += "\nfaults:\n" + "\n".join(
                    f"  - {fault.describe()}" for fault in server.faults.faults
                )
            report.sections.append(("pytest-syncmap journal", body))
    return report


def _raise_server_errors(item: pytest.Item) -> None:
    server = item.stash.get(SERVER_KEY, None)
    if server is None:
        return
    errors = server.take_errors()
    if not errors:
        return
    first = errors[0]
    _add_note(
        first,
        "pytest-syncmap: this exception was raised inside the Sync emulator while it "
        "served a request of this test (in a request handler the client received a "
        "Twilio 500, code 20500; in an observer the answer itself was unaffected).",
    )
    if len(errors) > 1:
        _add_note(first, f"pytest-syncmap: {len(errors) - 1} more error(s) followed it.")
    raise first


def _add_note(exc: BaseException, note: str) -> None:
    """``BaseException.add_note`` where it exists (3.11+), its attribute otherwise."""
    notes: list[str] = list(getattr(exc, "__notes__", []))
    notes.append(note)
    exc.__notes__ = notes  # type: ignore[attr-defined,unused-ignore]
