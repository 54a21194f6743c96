"""The markers that configure the object fixtures: ``sync_map``, ``sync_list``,
``sync_document`` and ``sync_stream``.

Each marker is shaped the same way (keyword arguments only: ``unique_name``, the
initial content, ``ttl``, ``service``) and requests its fixture by itself (see
:mod:`.hooks`). This module reads and checks them; a marker that is used wrongly is a
``pytest.UsageError`` naming the marker and what it accepts, never a silent default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = [
    "OBJECT_MARKERS",
    "ObjectMarker",
    "closest_object_marks",
    "marker_options",
    "wants_default_service",
]


def _map_items(name: str, value: object) -> None:
    if not isinstance(value, Mapping):
        raise pytest.UsageError(
            f"@pytest.mark.{name}(items=...) must be a dict of key to data, not "
            f"{type(value).__name__}"
        )


def _list_items(name: str, value: object) -> None:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise pytest.UsageError(
            f"@pytest.mark.{name}(items=...) must be a list of item data (each a dict), "
            f"appended in order, not {type(value).__name__}"
        )


def _document_data(name: str, value: object) -> None:
    if not isinstance(value, Mapping):
        raise pytest.UsageError(
            f"@pytest.mark.{name}(data=...) must be a dict (the Document's data), not "
            f"{type(value).__name__}"
        )


@dataclass(frozen=True)
class ObjectMarker:
    """One object marker: its name (also its fixture's), options and help text."""

    name: str
    #: The option holding the initial content (``items``, ``data``) or ``None``.
    content: str | None
    check_content: Callable[[str, object], None] | None
    #: What ``pytest --markers`` says after the signature.
    help: str

    @property
    def options(self) -> tuple[str, ...]:
        """The keyword arguments the marker accepts."""
        middle = () if self.content is None else (self.content,)
        return ("unique_name", *middle, "ttl", "service")

    def line(self) -> str:
        """The ``markers`` ini line that registers it."""
        signature = ", ".join(f"{option}=None" for option in self.options)
        return f"{self.name}({signature}): {self.help}"


_SERVICE_HELP = (
    "service='default' to create it in the account's default Service (which is then "
    "the test's Service)."
)

#: The object markers by name, in the order ``--markers`` lists them.
OBJECT_MARKERS: dict[str, ObjectMarker] = {
    marker.name: marker
    for marker in (
        ObjectMarker(
            "sync_map",
            "items",
            _map_items,
            "configure the Map that the sync_map fixture creates (the marker alone requests "
            "it): its unique name, the items it starts with (a dict of key to data), its TTL "
            "in seconds, and " + _SERVICE_HELP,
        ),
        ObjectMarker(
            "sync_list",
            "items",
            _list_items,
            "configure the List that the sync_list fixture creates (the marker alone "
            "requests it): its unique name, the items it starts with (a list of data, "
            "appended in order: indexes 0, 1, 2...), its TTL in seconds, and " + _SERVICE_HELP,
        ),
        ObjectMarker(
            "sync_document",
            "data",
            _document_data,
            "configure the Document that the sync_document fixture creates (the marker "
            "alone requests it): its unique name, its data (a dict; {} without it), its TTL "
            "in seconds, and " + _SERVICE_HELP,
        ),
        ObjectMarker(
            "sync_stream",
            None,
            None,
            "configure the Stream that the sync_stream fixture creates (the marker alone "
            "requests it): its unique name, its TTL in seconds, and " + _SERVICE_HELP,
        ),
    )
}


def closest_object_marks(node: pytest.Item) -> dict[str, pytest.Mark]:
    """The closest mark of each object marker on ``node``, in one pass over its markers."""
    marks: dict[str, pytest.Mark] = {}
    for mark in node.iter_markers():  # closest first
        name = mark.name
        if name in OBJECT_MARKERS and name not in marks:
            marks[name] = mark
    return marks


def marker_options(name: str, mark: pytest.Mark | None) -> dict[str, Any]:
    """The options of an object marker, checked; ``{}`` without the marker."""
    if mark is None:
        return {}
    spec = OBJECT_MARKERS[name]
    if mark.args:
        raise pytest.UsageError(
            f"@pytest.mark.{name} takes keyword arguments only "
            f"({', '.join(spec.options)}), got positional {mark.args!r}"
        )
    kwargs = mark.kwargs
    unknown = sorted(set(kwargs) - set(spec.options))
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.{name} got unknown argument(s) {', '.join(unknown)}; "
            f"it accepts {', '.join(spec.options)}"
        )
    service = kwargs.get("service")
    if service not in (None, "default"):
        raise pytest.UsageError(
            f"@pytest.mark.{name}(service=...) takes 'default' (the account's default "
            f"Service), not {service!r}; leave it out for a fresh Service"
        )
    content = None if spec.content is None else kwargs.get(spec.content)
    if spec.check_content is not None and content is not None:
        spec.check_content(name, content)
    return dict(kwargs)


def wants_default_service(marks: Mapping[str, pytest.Mark]) -> bool:
    """Whether one of the test's object markers asks for the default Service."""
    for name, mark in marks.items():
        if marker_options(name, mark).get("service") is not None:
            return True
    return False
