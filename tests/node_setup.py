"""Where the Node.js tests find the npm packages they need, and how to install them.

The suite installs nothing by itself: a plain ``pytest`` runs what the machine has. The
Node.js tests (the official ``twilio`` npm client, the README's Node and twilio-cli
recipes) run when Node.js is on ``PATH`` and the pinned packages were installed by the
explicit step the README documents (``.ci/run`` performs it)::

    npm install --prefix .node twilio@6.2.0
    npm install --global --prefix .node/cli twilio-cli@6.2.4

Otherwise they skip, and the reason names the command. ``SYNCMAP_NODE_MODULES`` may
point at another ``node_modules`` holding ``twilio@6.2.0``; ``SYNCMAP_TWILIO_CLI_PREFIX``
at another global prefix holding ``twilio-cli@6.2.4``. A variable that is set but points
at the wrong thing fails the test instead of skipping: a misconfigured CI must not pass
by skipping.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TWILIO_NODE_VERSION = "6.2.0"
TWILIO_CLI_VERSION = "6.2.4"
NODE_MODULES_ENV = "SYNCMAP_NODE_MODULES"
CLI_PREFIX_ENV = "SYNCMAP_TWILIO_CLI_PREFIX"
DEFAULT_NODE_MODULES = ROOT / ".node" / "node_modules"
DEFAULT_CLI_PREFIX = ROOT / ".node" / "cli"
NODE_STEP = f"npm install --prefix .node twilio@{TWILIO_NODE_VERSION}"
CLI_STEP = f"npm install --global --prefix .node/cli twilio-cli@{TWILIO_CLI_VERSION}"


def package_version(package_dir: Path) -> str | None:
    """The ``version`` of the npm package installed at ``package_dir``, or None."""
    try:
        manifest = json.loads((package_dir / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    version = manifest.get("version") if isinstance(manifest, dict) else None
    return version if isinstance(version, str) else None


def require_node() -> str:
    """The ``node`` executable; skips the test when Node.js is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(f"Node.js not found on PATH (`node`); install it, then run `{NODE_STEP}`")
    return node


def twilio_node_modules() -> Path:
    """A ``node_modules`` holding ``twilio@6.2.0`` (skips without Node.js or the package)."""
    require_node()
    given = os.environ.get(NODE_MODULES_ENV)
    where = Path(given) if given else DEFAULT_NODE_MODULES
    version = package_version(where / "twilio")
    if version == TWILIO_NODE_VERSION:
        return where
    if given:
        pytest.fail(
            f"{NODE_MODULES_ENV}={given!r} holds twilio {version or 'nothing'}, "
            f"not twilio@{TWILIO_NODE_VERSION}",
            pytrace=False,
        )
    pytest.skip(
        f"the twilio npm package is not installed: run `{NODE_STEP}` in the checkout "
        f"(or set {NODE_MODULES_ENV} to a node_modules holding twilio@{TWILIO_NODE_VERSION})"
    )


def twilio_cli_prefix() -> Path:
    """The global npm prefix holding ``twilio-cli@6.2.4`` (skips without it)."""
    require_node()
    given = os.environ.get(CLI_PREFIX_ENV)
    prefix = Path(given) if given else DEFAULT_CLI_PREFIX
    version = package_version(prefix / "lib" / "node_modules" / "twilio-cli")
    if version == TWILIO_CLI_VERSION and (prefix / "bin" / "twilio").exists():
        return prefix
    if given:
        pytest.fail(
            f"{CLI_PREFIX_ENV}={given!r} holds twilio-cli {version or 'nothing'}, "
            f"not twilio-cli@{TWILIO_CLI_VERSION} with bin/twilio",
            pytrace=False,
        )
    pytest.skip(
        f"twilio-cli is not installed: run `{CLI_STEP}` in the checkout "
        f"(about 100 MB; or set {CLI_PREFIX_ENV} to a global npm prefix holding it)"
    )
