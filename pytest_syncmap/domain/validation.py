"""Checks on values before they are stored, raising the domain's errors.

The HTTP layer turns form strings into Python values; these checks then apply the
same rules whether a value came from a client or from a test arranging state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from .choices import Choices
from .errors import (
    DataTooLarge,
    InvalidData,
    InvalidIdentity,
    InvalidKey,
    InvalidTtl,
    InvalidUniqueName,
    RevisionMismatch,
)
from .ids import is_sid, revision_str

__all__ = [
    "MAX_IDENTITY",
    "MAX_TTL",
    "check_identity",
    "check_key",
    "check_revision",
    "check_ttl",
    "check_unique_name",
    "nests_deeper",
    "serialize_data",
]

#: Largest TTL Twilio accepts: one year in seconds.
MAX_TTL = 31_536_000
#: Longest permission identity (54351).
MAX_IDENTITY = 256


def check_ttl(name: str, ttl: int | None) -> int | None:
    """Validate a TTL in seconds (``None`` means "not sent"); 0 means "never expires"."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
        raise InvalidTtl(name, ttl)
    return ttl


def serialize_data(
    data: object, limit: int, what: str = "Map Item", *, max_depth: int | None = None
) -> str:
    """Data as compact JSON, after checking it is an object within ``limit`` bytes
    and, given ``max_depth``, nested no deeper than that (``choices.data_max_depth``).

    The limit applies to the compact UTF-8 serialisation of the parsed value, so the
    answer does not depend on the separators a client used (``choices.py``). The depth
    is checked here too, so data arranged without HTTP (handles, markers, the control
    plane's seed, a ``race`` fault) is refused exactly as the API refuses it.
    """
    if not isinstance(data, Mapping):
        raise InvalidData(f"{what} data must be a JSON object, not {type(data).__name__}")
    try:
        text = json.dumps(dict(data), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        size = len(text.encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        # ValueError covers UnicodeEncodeError: a lone surrogate is not UTF-8.
        raise InvalidData(f"{what} data is not valid JSON: {exc}") from None
    if size > limit:
        raise DataTooLarge(size, limit, what)
    if max_depth is not None and nests_deeper(text, max_depth):
        raise InvalidData(f"{what} data nests deeper than {max_depth} levels")
    return text


#: A JSON string (escapes included) or a bracket: what nesting depth is counted on.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nests_deeper(text: str, limit: int) -> bool:
    """Whether the JSON text nests objects and arrays more than ``limit`` deep."""
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot be deeper: no scan
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def check_key(key: str, max_length: int) -> None:
    """A Map item key: a string of 1..``max_length`` characters."""
    if not isinstance(key, str) or not 1 <= len(key) <= max_length:
        raise InvalidKey(str(key), max_length)


def check_unique_name(name: str, choices: Choices) -> None:
    """A unique name: 1..max characters, not shaped like a SID (and, by choice, no ``/``)."""
    max_length = choices.unique_name_max_length
    if not isinstance(name, str) or not 1 <= len(name) <= max_length or is_sid(name):
        raise InvalidUniqueName(str(name), max_length)
    if "/" in name and choices.unique_name_slash == "refuse":
        raise InvalidUniqueName(name, max_length, slash=True)


def check_identity(identity: str) -> None:
    """A permission identity: 1..256 characters (54351)."""
    if not isinstance(identity, str) or not 1 <= len(identity) <= MAX_IDENTITY:
        raise InvalidIdentity(str(identity), MAX_IDENTITY)


def check_revision(current: int, if_match: str | None, key: str | int, kind: str) -> None:
    """A conditional write must find the revision it expects (``*``: any revision).

    ``kind`` (``map_item``, ``list_item``, ``document``) picks Twilio's error code.
    """
    if if_match is not None and if_match != "*" and if_match != revision_str(current):
        raise RevisionMismatch(key, if_match, revision_str(current), kind)
