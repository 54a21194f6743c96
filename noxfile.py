"""The version matrix: ``nox`` (``python -m pip install nox``).

Sessions:

* ``tests-3.10`` ... ``tests-3.13``: the suite on each supported Python, the project
  installed from the checkout (not editable) with its test extras, newest dependencies;
* ``lowest``: the suite on Python 3.10 with every lower bound ``pyproject.toml`` declares
  (runtime dependencies and the ``test`` extras that the suite exercises: twilio,
  aiohttp, requests, time-machine) pinned exactly, read from ``pyproject.toml`` so the
  pins cannot drift from what the project promises;
* ``wheel``: builds the sdist and wheel and runs ``tests/test_wheel.py``, which checks
  them and installs the wheel into a fresh virtual environment (downloads from PyPI);
* ``lint``: ruff (lint and format) and ``mypy --strict``.

``nox`` alone runs ``tests-3.13``, ``lowest``, ``wheel`` and ``lint`` (what ``.ci/run``
runs); ``nox -s tests`` runs the whole matrix. Arguments after ``--`` go to pytest.
Interpreters are looked up on ``PATH`` and, before it, in pyenv's
``~/.pyenv/versions/*/bin`` (where this project's machines keep them).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - nox itself may run on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
NEWEST = PYTHONS[-1]
LOWEST_PYTHON = PYTHONS[0]
#: The test extras whose lower bounds the ``lowest`` session pins too: the clients and
#: time libraries the plugin works with. Tools (ruff, mypy, xdist, jsonschema) stay newest.
LOWEST_EXTRAS = ("twilio", "aiohttp", "requests", "time-machine")

nox.options.sessions = [f"tests-{NEWEST}", "lowest", "wheel", "lint"]
nox.options.error_on_missing_interpreters = True


def _patch_level(bin_dir: Path) -> int:
    """3 for ``~/.pyenv/versions/3.12.3/bin``; -1 for a name that is not X.Y.Z."""
    last = bin_dir.parent.name.rsplit(".", 1)[-1]
    return int(last) if last.isdigit() else -1


def _pyenv_on_path() -> None:
    """Put pyenv's interpreters (newest patch release of each) in front of ``PATH``."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = []
    for python in PYTHONS:
        candidates = sorted(versions.glob(f"{python}.*/bin"), key=_patch_level)
        if candidates:
            found.append(str(candidates[-1]))
    if found:
        os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_pyenv_on_path()


def lowest_pins() -> list[str]:
    """``name==version`` for every ``>=`` lower bound of the dependencies that matter."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    requirements += [
        Requirement(r)
        for r in project["optional-dependencies"]["test"]
        if Requirement(r).name in LOWEST_EXTRAS
    ]
    pins = []
    for req in requirements:
        floors = [spec.version for spec in req.specifier if spec.operator == ">="]
        if len(floors) != 1:
            raise ValueError(f"{req}: the lowest session needs exactly one '>=' lower bound")
        pins.append(f"{req.name}=={floors[0]}")
    return pins


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The suite on one Python, newest dependencies."""
    session.install(".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=LOWEST_PYTHON)
def lowest(session: nox.Session) -> None:
    """The suite with every declared lower bound pinned exactly."""
    pins = lowest_pins()
    # Not session.create_tmp(): it points TMPDIR into the checkout, where pytester's inner
    # runs would pick up this project's pyproject.toml.
    constraints = Path(session.virtualenv.location) / "lowest-constraints.txt"
    constraints.write_text("\n".join(pins) + "\n", "utf-8")
    session.install("-c", str(constraints), ".[test]")
    session.run("python", "-m", "pip", "list")
    session.run("pytest", *session.posargs)


@nox.session(python=NEWEST)
def wheel(session: nox.Session) -> None:
    """Build, check and install the wheel in a fresh environment (``tests/test_wheel.py``)."""
    session.install("build", "twine", "pytest")
    session.run(
        "pytest",
        "tests/test_wheel.py",
        *session.posargs,
        # The plugin is not installed in this session: no spec observer (it needs it).
        env={"SYNCMAP_WHEEL_TEST": "1", "SYNCMAP_OAI_SPEC": ""},
    )


@nox.session(python=NEWEST)
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", "pytest_syncmap", "scripts")
