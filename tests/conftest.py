"""Check every emulator answer against Twilio's official OpenAPI spec, when asked to.

Set ``SYNCMAP_OAI_SPEC`` to the path of ``twilio_sync_v1.json`` (twilio/twilio-oai) and
an autouse session fixture attaches an observer to the session emulator. Each answer
the emulator sends, to any test, is then checked while it is served:

* a 2xx answer must be a status the spec declares for that operation, and its JSON
  body must match the operation's response schema. ``$ref``s are inlined, OpenAPI
  3.0 ``nullable: true`` becomes a JSON-schema ``null`` alternative, and every resource
  object (Service, Map, Map Item, Document, List, List Item, Stream, Stream Message and
  the three Permissions) is made strict (every property required, no other property
  allowed) so a misspelt or missing field fails. List envelopes are strict
  the same way, and ``meta.key`` must name the array.
* dates (``format: date-time``) must be Twilio's ``YYYY-MM-DDTHH:MM:SSZ``, ``format:
  uri`` values absolute http(s) URLs, ``uri-map`` objects maps of such URLs.
* the operations whose answer the spec declares with an ``ETag`` header (Create/Fetch/
  Update of Documents, List Items and Map Items) must carry one equal to the body's
  ``revision``; no other answer may carry one.
* every non-2xx answer must be a Twilio error body: exactly ``code`` (int),
  ``message`` (str), ``more_info`` (URI) and ``status`` (int, equal to the HTTP status).

Answers lost to an injected transport fault (``sync_faults``) are not checked: the
client never sees them. An observer that raises fails the test that caused the request
(the emulator records the error and the plugin re-raises it in the test). Without the
variable nothing here does anything, so a clone without the reference files still passes.

Inner pytester runs are never shuffled by pytest-randomly (see the ``pytester``
override below); the suite itself passes in any order.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from pytest_syncmap.http.exchange import Exchange

SPEC_ENV = "SYNCMAP_OAI_SPEC"
#: How to turn the validation on, said once per run when it is off.
SPEC_HOW = (
    f"set {SPEC_ENV} to Twilio's OpenAPI file for Sync, twilio_sync_v1.json "
    "(spec/json/ in the twilio/twilio-oai repository; .ci/run uses "
    "../shared/reference/twilio_sync_v1.json)"
)

#: Resource objects whose schemas are made strict (all properties, nothing else): every
#: resource of the spec (``test_coverage.py`` checks that none is missing).
STRICT_SCHEMAS = frozenset(
    {
        "sync.v1.service",
        "sync.v1.service.document",
        "sync.v1.service.document.document_permission",
        "sync.v1.service.sync_list",
        "sync.v1.service.sync_list.sync_list_item",
        "sync.v1.service.sync_list.sync_list_permission",
        "sync.v1.service.sync_map",
        "sync.v1.service.sync_map.sync_map_item",
        "sync.v1.service.sync_map.sync_map_permission",
        "sync.v1.service.sync_stream",
        "sync.v1.service.sync_stream.stream_message",
    }
)
#: Operations whose answer must carry ``ETag: <revision>`` (the spec declares it); no
#: other answer may carry one (``test_coverage.py`` checks this against the spec).
ETAG_OPERATIONS = frozenset(
    {
        "CreateDocument",
        "FetchDocument",
        "UpdateDocument",
        "CreateSyncListItem",
        "FetchSyncListItem",
        "UpdateSyncListItem",
        "CreateSyncMapItem",
        "FetchSyncMapItem",
        "UpdateSyncMapItem",
    }
)
#: Twilio's date format, the only one twilio-python parses.
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

#: A Twilio error body (SYNC_API.md 2.1); ``status`` is checked against HTTP separately.
TWILIO_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "more_info": {"type": "string", "format": "uri"},
        "status": {"type": "integer"},
    },
    "required": ["code", "message", "more_info", "status"],
    "additionalProperties": False,
}

try:
    from pytest_syncmap.http.faults import TRANSPORT_KINDS as _TRANSPORT_FAULTS
except ImportError:  # a package without fault injection
    _TRANSPORT_FAULTS = ()

_REF_PREFIX = "#/components/schemas/"
#: OpenAPI 3.0 keywords JSON Schema does not know (``nullable`` is translated first).
_OPENAPI_ONLY = frozenset({"nullable", "example", "examples", "x-twilio", "description"})
_MAX_REPORTED = 8


# ----------------------------------------------------------------- formats
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_twilio_date(value: object) -> bool:
    return not isinstance(value, str) or DATE_RE.match(value) is not None


def _is_uri_map(value: object) -> bool:
    if not isinstance(value, Mapping):
        return True
    return all(isinstance(v, str) and _is_uri(v) for v in value.values())


def _format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("uri")(_is_uri)
    checker.checks("date-time")(_is_twilio_date)
    checker.checks("uri-map")(_is_uri_map)
    return checker


# ------------------------------------------------------ OpenAPI -> JSON Schema
def to_json_schema(node: Any, components: Mapping[str, Any], _seen: tuple[str, ...] = ()) -> Any:
    """An OpenAPI 3.0 schema as a self-contained JSON Schema (refs inlined, nullable mapped)."""
    if isinstance(node, list):
        return [to_json_schema(x, components, _seen) for x in node]
    if not isinstance(node, Mapping):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith(_REF_PREFIX):
            raise ValueError(f"unsupported $ref {ref!r}")
        name = ref[len(_REF_PREFIX) :]
        if name in _seen:
            raise ValueError(f"recursive $ref {ref!r}")
        out = to_json_schema(components[name], components, (*_seen, name))
        if name in STRICT_SCHEMAS:
            out = {
                **out,
                "required": sorted(out.get("properties", {})),
                "additionalProperties": False,
            }
        return out
    out: dict[str, Any] = {}
    for keyword, value in node.items():
        if keyword in _OPENAPI_ONLY:
            continue
        if keyword == "properties":
            out[keyword] = {
                name: to_json_schema(sub, components, _seen) for name, sub in value.items()
            }
        else:
            out[keyword] = to_json_schema(value, components, _seen)
    if node.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _strict_envelope(schema: dict[str, Any]) -> dict[str, Any]:
    """A list answer: exactly ``{<array>: [...], meta: {...all seven fields...}}``."""
    props = schema.get("properties", {})
    meta = props.get("meta")
    if not isinstance(meta, dict) or len(props) != 2:
        return schema
    meta = {
        **meta,
        "required": sorted(meta.get("properties", {})),
        "additionalProperties": False,
    }
    return {
        **schema,
        "properties": {**props, "meta": meta},
        "required": sorted(props),
        "additionalProperties": False,
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _describe(errors: list[Any]) -> str:
    lines = []
    for err in errors[:_MAX_REPORTED]:
        where = "/".join(str(p) for p in err.absolute_path) or "<root>"
        lines.append(f"  at {where}: {err.message}")
    if len(errors) > _MAX_REPORTED:
        lines.append(f"  ... and {len(errors) - _MAX_REPORTED} more")
    return "\n".join(lines)


class SpecValidator:
    """Validators for every (operationId, status) of the spec, compiled once."""

    def __init__(self, spec: Mapping[str, Any], source: str = "<spec>") -> None:
        from jsonschema import Draft7Validator

        self.source = source
        components = spec.get("components", {}).get("schemas", {})
        formats = _format_checker()
        #: operationId -> {status: validator or None (no body declared)}.
        self.responses: dict[str, dict[int, Validator | None]] = {}
        for path_item in spec.get("paths", {}).values():
            for operation in path_item.values():
                if not isinstance(operation, Mapping) or "operationId" not in operation:
                    continue
                by_status: dict[int, Validator | None] = {}
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content", {}).get("application/json")
                    if content is None or "schema" not in content:
                        by_status[int(code)] = None
                        continue
                    schema = _strict_envelope(to_json_schema(content["schema"], components))
                    Draft7Validator.check_schema(schema)
                    by_status[int(code)] = Draft7Validator(schema, format_checker=formats)
                self.responses[operation["operationId"]] = by_status
        Draft7Validator.check_schema(TWILIO_ERROR_SCHEMA)
        self.error_validator: Validator = Draft7Validator(
            TWILIO_ERROR_SCHEMA, format_checker=formats
        )
        self._lock = threading.Lock()
        #: How many answers were checked (all observers share this validator).
        self.checked = 0

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SpecValidator:
        """Load the OpenAPI JSON at ``path``."""
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh), source=str(path))

    # ------------------------------------------------------------ checks
    def validate_success(self, operation: str, status: int, body: Any) -> None:
        """Raise AssertionError unless ``body`` is what the spec declares for this answer."""
        declared = self.responses.get(operation)
        if declared is None:
            raise AssertionError(f"{operation!r} is not an operationId of {self.source}")
        if status not in declared:
            raise AssertionError(
                f"{operation} answered {status}, but the spec declares only {sorted(declared)}"
            )
        validator = declared[status]
        if validator is None:
            raise AssertionError(f"{operation} {status} must have no body, got {body!r:.200}")
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            raise AssertionError(
                f"{operation} {status} body does not match the spec schema:\n{_describe(errors)}"
            )
        if isinstance(body, Mapping) and "meta" in body:
            key = body["meta"].get("key")
            if key not in body or not isinstance(body[key], list):
                raise AssertionError(f"{operation}: meta.key {key!r} does not name the array")

    def validate_error(self, status: int, body: Any) -> None:
        """Raise AssertionError unless ``body`` is a Twilio error body for HTTP ``status``."""
        errors = sorted(self.error_validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            raise AssertionError(f"HTTP {status} error body is not Twilio's:\n{_describe(errors)}")
        if body["status"] != status:
            raise AssertionError(f"error body says status {body['status']}, HTTP said {status}")

    def check_exchange(self, exchange: Exchange) -> None:
        """The observer: check one answer of the emulator (raises AssertionError)."""
        with self._lock:
            self.checked += 1
        where = f"{exchange.method} {exchange.path} -> {exchange.status} ({exchange.operation})"
        try:
            self._check(exchange)
        except AssertionError as exc:
            raise AssertionError(f"OpenAPI check failed for {where}: {exc}") from None

    def _check(self, ex: Exchange) -> None:
        if getattr(ex, "fault", None) in _TRANSPORT_FAULTS:
            return  # an injected transport fault: the client never gets this answer
        status, headers = ex.status, ex.response_headers
        body: Any = None
        if ex.body:
            content_type = _header(headers, "Content-Type") or ""
            if not content_type.startswith("application/json"):
                raise AssertionError(f"body with Content-Type {content_type!r}")
            try:
                body = json.loads(ex.body)
            except ValueError as exc:
                raise AssertionError(f"body is not JSON ({exc}): {ex.body[:200]!r}") from None
        if not 200 <= status < 300:
            if body is None:
                raise AssertionError("error answer without a body")
            self.validate_error(status, body)
            return
        if ex.operation is None:
            raise AssertionError("a 2xx answer to a request no operation matched")
        if ex.operation.startswith("Control "):
            return  # the /_syncmap/ control plane is ours, not Twilio's: no schema
        if body is None:
            declared = self.responses.get(ex.operation, {})
            if declared.get(status, "missing") is not None:
                raise AssertionError(f"empty body, but the spec declares {sorted(declared)}")
            return
        self.validate_success(ex.operation, status, body)
        etag = _header(headers, "ETag")
        if ex.operation in ETAG_OPERATIONS:
            if etag is None:
                raise AssertionError("no ETag header")
            if etag != body.get("revision"):
                raise AssertionError(f"ETag {etag!r} != revision {body.get('revision')!r}")
        elif etag is not None:
            raise AssertionError(f"ETag {etag!r} on an answer the spec declares without one")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once, at the end, that the OpenAPI check was off and how to turn it on."""
    if not os.environ.get(SPEC_ENV):
        terminalreporter.write_line(
            f"note: answers were not validated against Twilio's OpenAPI spec; to do so, {SPEC_HOW}"
        )


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester whose inner runs keep the order their tests are written in.

    Inner suites are scenarios (test A ends, then test B checks what it sees), so
    pytest-randomly, when installed, must not shuffle them; the outer suite itself
    may run in any order.
    """
    for name in ("inline_run", "runpytest_subprocess"):
        run = getattr(pytester, name)

        def ordered(*args: Any, _run: Any = run, **kwargs: Any) -> Any:
            return _run("-p", "no:randomly", *args, **kwargs)

        monkeypatch.setattr(pytester, name, ordered)
    return pytester


@pytest.fixture(scope="session")
def _oai_spec() -> SpecValidator | None:
    """The spec validators, loaded once per session; ``None`` without the variable."""
    path = os.environ.get(SPEC_ENV)
    if not path:
        return None
    if not Path(path).is_file():
        pytest.fail(f"{SPEC_ENV}={path!r} is not a file", pytrace=False)
    return SpecValidator.from_file(path)


@pytest.fixture(scope="session", autouse=True)
def _oai_spec_observer(
    _oai_spec: SpecValidator | None, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Watch every answer of the session emulator (only when the spec is configured)."""
    if _oai_spec is None:
        yield
        return
    server = request.getfixturevalue("sync_server_session")
    observer = _oai_spec.check_exchange
    server.app.observers.append(observer)
    try:
        yield
    finally:
        server.app.observers.remove(observer)


@pytest.fixture
def spec_validator(_oai_spec: SpecValidator | None) -> SpecValidator:
    """The session's :class:`SpecValidator`; skips the test when ``SYNCMAP_OAI_SPEC`` is unset."""
    if _oai_spec is None:
        pytest.skip(f"{SPEC_ENV} is not set: {SPEC_HOW}")
    return _oai_spec


@pytest.fixture
def exchanges(sync_server: Any) -> Iterator[list[Exchange]]:
    """Every request the emulator answers during the test, as it saw it (headers too)."""
    seen: list[Exchange] = []
    sync_server.app.observers.append(seen.append)
    yield seen
    sync_server.app.observers.remove(seen.append)
