"""What a resource handler is given, and what it gives back.

A handler (one per OpenAPI operation, in ``http/resources/``) receives the emulator's
:class:`Api` context and one parsed :class:`Call`, calls the domain model, and returns
a :data:`Result`: the HTTP status, the JSON text of the body, and extra headers.
Handlers raise domain errors or :class:`~pytest_syncmap.http.twilio_errors.TwilioError`;
the app turns both into Twilio's error answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pytest_syncmap.domain.choices import Choices
from pytest_syncmap.domain.model import Store

from .exchange import Exchange

__all__ = ["Api", "Call", "Result", "dumps"]

#: ``(status, body as JSON text, extra headers)``.
Result = tuple[int, str, dict[str, str]]


@dataclass(frozen=True)
class Api:
    """The emulator a handler answers for: its state, account and fidelity choices."""

    store: Store
    account_sid: str
    choices: Choices


@dataclass
class Call:
    """One routed API request."""

    exchange: Exchange
    #: Path parameters by the names in the route template (``service``, ``map``, ``key``...).
    params: dict[str, str]
    #: ``scheme://host[:port]`` the client addressed, for absolute URLs in answers.
    base: str
    #: The path exactly as the client sent it, for ``meta`` URLs.
    raw_path: str
    #: The revision an ``If-Match`` header asks for (``None`` when absent).
    if_match: str | None = None

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (first value of each name)."""
        return self.exchange.query

    @property
    def form(self) -> dict[str, str]:
        """Form parameters of a POST (first value of each name)."""
        return self.exchange.form


def dumps(value: dict[str, Any]) -> str:
    """A JSON object as the body text of an answer."""
    return json.dumps(value)
