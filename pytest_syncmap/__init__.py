"""pytest-syncmap: a faithful, stateful emulator of Twilio Sync Maps for pytest.

The fixtures (``sync_server``, ``sync_service``, ``sync_map``, ``twilio_client``,
``twilio_async_client``) come from :mod:`pytest_syncmap.plugin`, which pytest loads
through the ``pytest11`` entry point. Everything here can also be used without pytest.
"""

from __future__ import annotations

from .choices import DEFAULT_CHOICES, Choices
from .clock import Clock, FixedClock, WallClock
from .errors import SyncError
from .handles import MapHandle, ServiceHandle
from .model import ItemRecord, MapRecord, ServiceRecord, Store
from .redirect import TwilioRedirect
from .server import ACCOUNT_SID, AUTH_TOKEN, SyncServer

__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "DEFAULT_CHOICES",
    "Choices",
    "Clock",
    "FixedClock",
    "ItemRecord",
    "MapHandle",
    "MapRecord",
    "ServiceHandle",
    "ServiceRecord",
    "Store",
    "SyncError",
    "SyncServer",
    "TwilioRedirect",
    "WallClock",
]
__version__ = "0.1.0"
