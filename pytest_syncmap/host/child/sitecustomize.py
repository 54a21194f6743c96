"""pytest-syncmap's bootstrap for Python child processes of a test.

``SyncServer.child_env()`` puts this directory first on ``PYTHONPATH`` and describes the
emulator in ``PYTEST_SYNCMAP_CHILD`` (JSON). Python imports this module at start-up
(``site``); it loads ``../wiring.py`` by file path (nothing else of pytest-syncmap, and
not twilio: the wiring is installed when the child first imports twilio), then runs the
``sitecustomize`` this one hides, if there is one further along ``sys.path``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys


def _install(here: str) -> None:
    config = os.environ.get("PYTEST_SYNCMAP_CHILD")
    if not config:
        return
    path = os.path.join(os.path.dirname(here), "wiring.py")
    spec = importlib.util.spec_from_file_location("_pytest_syncmap_child_wiring", path)
    if spec is None or spec.loader is None:
        return
    wiring = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = wiring
    spec.loader.exec_module(wiring)
    wiring.install_from_config(json.loads(config))


def _chain(here: str) -> None:
    """Run the next ``sitecustomize`` on ``sys.path`` (the one this module shadows)."""
    others = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        _install(here)
    finally:
        _chain(here)


_main()
