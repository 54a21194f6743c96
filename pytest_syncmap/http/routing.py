"""The routing table: path templates to OpenAPI operations and their handlers.

A :class:`Route` is a path template such as
``/v1/Services/{service}/Maps/{map}/Items/{key...}`` with the operation each method
runs. ``{name}`` matches one non-empty path segment; ``{name...}``, allowed last,
matches the rest of the path, slashes included (``CLIENTS.md`` section 7: twilio-python
sends a key ``a/b`` raw, so ``Items/a/b`` and ``Items/a%2Fb`` both mean ``a/b``).
Paths are matched after percent-decoding, without merging slashes or redirecting.

The :class:`Router` walks a tree of segments, so a match costs one step per segment
whatever the number of routes. A path no route takes is Twilio's 404 / 20404; a route
that does not take the method is 405 / 20004 with an ``Allow`` header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from .api import Api, Call, Result
from .twilio_errors import TwilioError

__all__ = ["Handler", "Operation", "Route", "Router"]

Handler = Callable[[Api, Call], Result]


@dataclass(frozen=True)
class Operation:
    """One OpenAPI operation: its id, the resource it acts on, and its handler."""

    #: The ``operationId`` in ``twilio_sync_v1.json`` (``FetchSyncMapItem``...).
    id: str
    handler: Handler
    #: The resource kind the path addresses: ``service``, ``map``, ``map_item``...
    resource: str
    #: Whether the path names the collection (list/create) rather than one resource.
    collection: bool = False
    #: Whether the operation reads ``If-Match`` (the spec declares it); elsewhere the
    #: header is ignored, whatever it holds.
    if_match: bool = False


@dataclass(frozen=True)
class Route:
    """A path template and the operation each HTTP method runs on it."""

    template: str
    methods: Mapping[str, Operation]

    def operation(self, method: str) -> Operation:
        """The operation for ``method`` (HEAD runs GET); 405 when the route lacks it."""
        op = self.methods.get("GET" if method == "HEAD" else method)
        if op is None:
            raise TwilioError.method_not_allowed(self.methods)
        return op


@dataclass
class _Node:
    literals: dict[str, _Node] = field(default_factory=dict)
    param: tuple[str, _Node] | None = None
    rest: tuple[str, Route] | None = None
    route: Route | None = None


class Router:
    """Matches decoded paths against a set of :class:`Route` templates."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self._root = _Node()
        for route in self.routes:
            self._add(route)

    def _add(self, route: Route) -> None:
        node = self._root
        segments = route.template.split("/")[1:]
        for i, segment in enumerate(segments):
            if segment.startswith("{") and segment.endswith("...}"):
                if i != len(segments) - 1:
                    raise ValueError(f"{route.template}: {{name...}} must be the last segment")
                if node.rest is not None:
                    raise ValueError(f"{route.template}: two greedy routes at one place")
                node.rest = (segment[1:-4], route)
                return
            if segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                if node.param is None:
                    node.param = (name, _Node())
                elif node.param[0] != name:
                    raise ValueError(f"{route.template}: parameter {name!r} clashes")
                node = node.param[1]
            else:
                node = node.literals.setdefault(segment, _Node())
        if node.route is not None:
            raise ValueError(f"{route.template}: duplicate route")
        node.route = route

    def match(self, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``path`` and its parameters; Twilio's 404 when none matches."""
        if path.startswith("/"):
            params: dict[str, str] = {}
            route = _walk(self._root, path.split("/")[1:], 0, params)
            if route is not None:
                return route, params
        raise TwilioError.not_found(path)

    def operations(self) -> Iterator[tuple[str, str, Operation]]:
        """Every ``(method, template, operation)`` served, in table order."""
        for route in self.routes:
            for method, op in route.methods.items():
                yield method, route.template, op


def _walk(node: _Node, segments: list[str], i: int, params: dict[str, str]) -> Route | None:
    if i == len(segments):
        return node.route
    segment = segments[i]
    child = node.literals.get(segment)
    if child is not None:
        found = _walk(child, segments, i + 1, params)
        if found is not None:
            return found
    if node.param is not None and segment:
        name, child = node.param
        params[name] = segment
        found = _walk(child, segments, i + 1, params)
        if found is not None:
            return found
        del params[name]
    if node.rest is not None:
        rest = "/".join(segments[i:])
        if rest:
            name, route = node.rest
            params[name] = rest
            return route
    return None
