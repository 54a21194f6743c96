"""The pytest layer: fixtures, markers, options, reports; the plugin pytest loads.

Installing the package registers this module through the ``pytest11`` entry point
(``syncmap = "pytest_syncmap.plugin"``). Its hooks live in :mod:`.hooks`, its fixtures
in :mod:`.fixtures`; both are re-exported here, which is where pytest finds them.
``from pytest_syncmap.plugin import ServerConfig`` is the documented way to configure
the session's emulator.
"""

from __future__ import annotations

from .context import ServerConfig
from .fixtures import (
    sync_clock,
    sync_document,
    sync_faults,
    sync_list,
    sync_map,
    sync_server,
    sync_server_config,
    sync_server_session,
    sync_service,
    sync_stream,
    sync_webhook_receiver_session,
    sync_webhooks,
    twilio_async_client,
    twilio_client,
)
from .hooks import (
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_call,
    pytest_runtest_makereport,
)

__all__ = [
    "ServerConfig",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "sync_clock",
    "sync_document",
    "sync_faults",
    "sync_list",
    "sync_map",
    "sync_server",
    "sync_server_config",
    "sync_server_session",
    "sync_service",
    "sync_stream",
    "sync_webhook_receiver_session",
    "sync_webhooks",
    "twilio_async_client",
    "twilio_client",
]
