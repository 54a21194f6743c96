"""pytest-syncmap: a faithful, stateful emulator of Twilio Sync for pytest.

The package is layered, each layer importing only the ones below it:

* :mod:`pytest_syncmap.domain`: Sync objects, revisions, paging, expiry, events;
* :mod:`pytest_syncmap.http`: the REST API as a WSGI app, in Twilio's words;
* :mod:`pytest_syncmap.host`: the server, webhooks, the standalone mode;
* :mod:`pytest_syncmap.plugin`: the pytest fixtures, markers and reports.

The fixtures come from :mod:`pytest_syncmap.plugin`, which pytest loads through the
``pytest11`` entry point. Everything public is importable from here, and everything here
can also be used without pytest.
"""

from __future__ import annotations

from .domain.choices import DEFAULT_CHOICES, Choices
from .domain.clock import Clock, FixedClock, SettableClock, TimeControl, WallClock
from .domain.errors import SyncError
from .domain.model import ItemRecord, MapRecord, ServiceRecord, Store
from .host.server import ACCOUNT_SID, AUTH_TOKEN, SyncServer
from .host.transport import TransportLimits
from .http.boundary import LateRequest
from .http.faults import Fault, SyncFaults
from .http.journal import Journal, JournalEntry
from .plugin.boundary import LateRequestWarning
from .plugin.handles import DocumentHandle, ListHandle, MapHandle, ServiceHandle, StreamHandle
from .plugin.receiver import ReceivedWebhook, WebhookReceiver
from .plugin.redirect import TwilioRedirect
from .plugin.timecontrol import SyncClock

__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "DEFAULT_CHOICES",
    "Choices",
    "Clock",
    "DocumentHandle",
    "Fault",
    "FixedClock",
    "ItemRecord",
    "Journal",
    "JournalEntry",
    "LateRequest",
    "LateRequestWarning",
    "ListHandle",
    "MapHandle",
    "MapRecord",
    "ReceivedWebhook",
    "ServiceHandle",
    "ServiceRecord",
    "SettableClock",
    "Store",
    "StreamHandle",
    "SyncClock",
    "SyncError",
    "SyncFaults",
    "SyncServer",
    "TimeControl",
    "TransportLimits",
    "TwilioRedirect",
    "WallClock",
    "WebhookReceiver",
]
__version__ = "0.2.0.dev0"
