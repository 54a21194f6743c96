"""Turning request strings into typed values, in Twilio's words when they are wrong.

Clients send everything as strings: form fields (``Ttl=3600``, ``AclEnabled=true``,
``Data={"a": 1}``), query parameters and headers. Each parser here returns a typed
value or raises :class:`~pytest_syncmap.twilio_errors.TwilioError` (or a domain
error the HTTP layer translates), so handlers stay a few lines long.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pytest_syncmap.domain.choices import DEFAULT_CHOICES, Choices
from pytest_syncmap.domain.errors import InvalidData, InvalidTtl
from pytest_syncmap.domain.model import MAX_TTL
from pytest_syncmap.domain.validation import nests_deeper

from .twilio_errors import TwilioError

__all__ = [
    "Cursor",
    "decode_page_token",
    "encode_page_token",
    "null_data",
    "parse_bool",
    "parse_data",
    "parse_enum",
    "parse_if_match",
    "parse_index",
    "parse_nullable_data",
    "parse_page",
    "parse_page_size",
    "parse_required_bool",
    "parse_ttl",
]

_DIGITS = re.compile(r"[0-9]{1,12}")
# PageSize is an int64: twilio-python sends PageSize=limit, so any size must clamp.
_ANY_DIGITS = re.compile(r"[0-9]{1,19}")
_IF_MATCH = re.compile(r"[0-9a-fA-F]{1,32}")
# A List Item index: a non-negative int64 (more digits cannot be an index).
_INDEX = re.compile(r"[0-9]{1,18}")


def parse_ttl(form: Mapping[str, str], name: str, alias: str | None = None) -> int | None:
    """The TTL under ``name`` (else ``alias``), ``None`` when neither was sent.

    ``Ttl`` is an alias that Twilio ignores when the specific name is also sent
    (``SYNC_API.md`` 3.6), so the alias is not even validated then. An empty value
    counts as not sent: 54011 reads "must either be empty or an integer".
    """
    used = name if name in form else alias
    if used is None or used not in form:
        return None
    raw = form[used].strip()
    if raw == "":
        return None
    if not _DIGITS.fullmatch(raw) or int(raw) > MAX_TTL:
        raise InvalidTtl(used, raw)
    return int(raw)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(raw: str, choices: Choices) -> Any:
    """JSON text, refusing nesting deeper than ``choices.data_max_depth`` before parsing,
    so the answer is the same on every Python version (``domain/choices.py``)."""
    if nests_deeper(raw, choices.data_max_depth):
        raise InvalidData(
            f"The specified 'Data' parameter nests deeper than {choices.data_max_depth} levels"
        )
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise InvalidData("The specified 'Data' parameter is not valid JSON") from None


def _not_an_object(value: Any) -> InvalidData:
    kind = "null" if value is None else type(value).__name__
    return InvalidData(f"The specified 'Data' parameter must be a JSON object, not {kind}")


def parse_data(raw: str, choices: Choices = DEFAULT_CHOICES) -> dict[str, Any]:
    """Item ``Data``: JSON text that must hold an object (``SYNC_API.md`` 3.7)."""
    value = _parse_json(raw, choices)
    if not isinstance(value, dict):
        raise _not_an_object(value)
    return value


def parse_nullable_data(raw: str, choices: Choices = DEFAULT_CHOICES) -> dict[str, Any] | None:
    """``Data`` that may be sent empty or as JSON ``null`` (``None`` for both).

    Documents, List Items and Stream Messages answer those with their own "cannot be
    null" code (:func:`null_data`); anything else that is not a JSON object is 54008.
    """
    if raw.strip() == "":
        return None
    value = _parse_json(raw, choices)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _not_an_object(value)
    return value


def null_data(code: int, what: str) -> TwilioError:
    """``Data`` missing, empty or ``null`` where the object needs some (``SYNC_OTHER`` Q10).

    ``code`` is the object's own code (54101 Document, 54156 List Item, 54251 Stream
    Message); 20001 gives the platform's "Missing required parameter" instead.
    """
    if code == 20001:
        return TwilioError.missing("Data")
    return TwilioError(400, code, f"Invalid {what} data. The 'Data' parameter cannot be null.")


def parse_bool(form: Mapping[str, str], name: str) -> bool | None:
    """A Twilio boolean form field (``true``/``false``); ``None`` when absent."""
    if name not in form:
        return None
    raw = form[name].strip().lower()
    if raw in ("true", "false"):
        return raw == "true"
    raise TwilioError.invalid(name, "must be true or false")


def parse_required_bool(form: Mapping[str, str], name: str) -> bool:
    """A boolean form field the operation requires (400 / 20001 when absent)."""
    value = parse_bool(form, name)
    if value is None:
        raise TwilioError.missing(name)
    return value


def parse_index(raw: str, code: int, *, name: str = "Index", path: str | None = None) -> int:
    """A List Item index (``{Index}`` in a path, or ``From``): a non-negative integer.

    Anything else is ``code`` (``choices.invalid_index_code``, 54458 "Invalid List
    Item index"); with ``code`` 20404 a bad path index is a routing miss at ``path``.
    """
    if _INDEX.fullmatch(raw):
        return int(raw)
    if code == 20404 and path is not None:
        raise TwilioError.not_found(path)
    if code in (20001, 20404):
        raise TwilioError.invalid(name, "must be a non-negative integer")
    raise TwilioError(
        400, code, f"Invalid List Item index. The {name} must be a non-negative integer"
    )


def parse_int(form: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """A bounded integer form field; ``None`` when absent."""
    if name not in form:
        return None
    raw = form[name].strip()
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise TwilioError.invalid(name, f"must be an integer between {low} and {high}")
    return int(raw)


#: Sync's codes for a bad query parameter of a listing (``choices.query_error_codes``).
_QUERY_CODES = {"Order": 54451, "Bounds": 54452, "PageToken": 54453, "PageSize": 54454}


def query_error(name: str, detail: str, choices: Choices) -> TwilioError:
    """A listing's query parameter ``name`` is wrong: Sync's code for it, or 20001."""
    code = _QUERY_CODES.get(name)
    if code is None or choices.query_error_codes == "generic":
        return TwilioError.invalid(name, detail)
    return TwilioError(400, code, f"Invalid '{name}' query parameter. It {detail}")


def parse_enum(
    query: Mapping[str, str],
    name: str,
    allowed: tuple[str, ...],
    choices: Choices = DEFAULT_CHOICES,
) -> str:
    """A query parameter from a closed set; the first allowed value is the default.

    An empty value counts as not sent, as for every other parameter; a value outside
    the set is :func:`query_error`.
    """
    raw = query.get(name)
    if not raw:
        return allowed[0]
    if raw not in allowed:
        raise query_error(name, f"must be one of {', '.join(allowed)}", choices)
    return raw


def parse_page_size(query: Mapping[str, str], choices: Choices) -> int:
    """``PageSize``: 1..max, default 50; above the max, clamp or reject (``choices``)."""
    raw = query.get("PageSize")
    if raw is None or raw == "":
        return choices.page_size_default
    bad = f"must be an integer between 1 and {choices.page_size_max}"
    if not _ANY_DIGITS.fullmatch(raw) or int(raw) < 1:
        raise query_error("PageSize", bad, choices)
    size = int(raw)
    if size > choices.page_size_max:
        if choices.page_size_over_max == "error":
            raise query_error("PageSize", bad, choices)
        size = choices.page_size_max
    return size


def parse_page(query: Mapping[str, str]) -> int:
    """``Page``: an index "simply for client state"; echoed, never used to skip."""
    raw = query.get("Page")
    if raw is None or raw == "":
        return 0
    if not _DIGITS.fullmatch(raw):
        raise TwilioError.invalid("Page", "must be a non-negative integer")
    return int(raw)


def parse_if_match(value: str | None) -> str | None:
    """The revision an If-Match header asks for; ``None`` when absent or empty.

    Accepts the bare form the SDKs send (``1a``), a quoted ETag (``"1a"``) and a weak
    one (``W/"1a"``). ``*`` means "whatever the current revision is". Anything that
    cannot be a revision is 54003 "Invalid If-Match header".
    """
    if value is None:
        return None
    raw = value.strip()
    if raw == "":
        return None
    if raw == "*":
        return "*"
    if raw[:2] in ("W/", "w/"):
        raw = raw[2:].strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    if not _IF_MATCH.fullmatch(raw):
        raise TwilioError(
            400,
            54003,
            "Invalid If-Match header. The specified If-Match header cannot be used for "
            "concurrency control",
        )
    return raw


# --------------------------------------------------------------------- paging
Direction = Literal["next", "previous", "previous_inclusive"]
Cursor = tuple[Direction, "str | int"]
_DIRECTION_CODES: dict[str, Direction] = {
    "n": "next",
    "p": "previous",
    "q": "previous_inclusive",
}


def encode_page_token(direction: Direction, position: str | int) -> str:
    """An opaque ``PageToken``: where the next (or previous) page starts, exclusive.

    The cursor is a position (an item key, or a Map's or Service's creation number),
    not an offset, so it stays correct while records are added or removed between
    pages. ``PT`` mirrors the prefix of Twilio's own page tokens.
    """
    code = {v: k for k, v in _DIRECTION_CODES.items()}[direction]
    payload = json.dumps([code, position], ensure_ascii=False)
    return "PT" + base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_page_token(
    token: str, kind: type[str] | type[int], choices: Choices = DEFAULT_CHOICES
) -> Cursor:
    """Read a ``PageToken`` back; anything this API did not issue is :func:`query_error`."""
    bad = query_error("PageToken", "is not a page token of this list", choices)
    if not token.startswith("PT"):
        raise bad
    body = token[2:]
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise bad from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or payload[0] not in _DIRECTION_CODES
        or type(payload[1]) is not kind
    ):
        raise bad
    return (_DIRECTION_CODES[payload[0]], payload[1])
