"""Identifiers: Twilio SIDs and revisions.

A SID is a two-letter prefix and 32 lowercase hex digits (``SYNC_API.md`` 3.1); a
revision is a per-object counter rendered as lowercase hex (``SYNC_API.md`` Q6).
"""

from __future__ import annotations

import os
import random
import re

__all__ = ["is_sid", "new_sid", "revision_str"]

_SID_SHAPE = re.compile(r"[A-Z]{2}[0-9a-f]{32}")

# A private generator: a test that seeds ``random`` cannot make SIDs repeat.
_sid_random = random.Random(int.from_bytes(os.urandom(16), "big"))


def new_sid(prefix: str) -> str:
    """Return a fresh SID: the two-letter prefix and 32 lowercase hex digits."""
    return f"{prefix}{_sid_random.getrandbits(128):032x}"


def is_sid(value: str, prefix: str | None = None) -> bool:
    """Whether ``value`` has the shape of a Twilio SID (optionally with ``prefix``)."""
    if prefix is not None and not value.startswith(prefix):
        return False
    return _SID_SHAPE.fullmatch(value) is not None


def revision_str(counter: int) -> str:
    """Render a revision counter the way the API shows it: lowercase hex."""
    return format(counter, "x")
