"""Release metadata that must agree with itself, checked on every run (no build, no download).

* one source of truth for the version: ``pyproject.toml`` declares it dynamic, read from
  the literal ``pytest_syncmap.__version__``; the installed metadata and the top section
  of ``CHANGELOG.md`` say the same;
* license metadata in SPDX form with the file it names, and no license classifier;
* the Python classifiers, ``requires-python`` and the nox matrix name the same versions;
* every non-Python file of the package (and every module outside a regular package, such
  as the child-process bootstrap) is declared as package data, so the wheel carries it
  (``tests/test_wheel.py`` checks the built wheel itself, on request).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import pytest_syncmap

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pytest_syncmap"


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def test_the_version_has_one_source(pyproject: dict[str, Any]) -> None:
    project = pyproject["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "pytest_syncmap.__version__"
    }
    installed = importlib.metadata.version("pytest-syncmap")
    assert installed == pytest_syncmap.__version__, (
        f"installed metadata says {installed}, the code {pytest_syncmap.__version__}: "
        "reinstall (`python -m pip install -e .[test]`)"
    )


def test_the_changelog_opens_with_this_version() -> None:
    version = pytest_syncmap.__version__
    release = re.fullmatch(r"(\d+\.\d+\.\d+)(\.dev\d+)?", version)
    assert release, f"{version!r} is not X.Y.Z or X.Y.Z.devN"
    heading = next(
        line
        for line in (ROOT / "CHANGELOG.md").read_text("utf-8").splitlines()
        if line.startswith("## ")
    )
    expected = f"## {release[1]} (unreleased)" if release[2] else f"## {version}"
    assert heading.startswith(expected), f"CHANGELOG.md's first section is {heading!r}"


def test_license_metadata_is_spdx(pyproject: dict[str, Any]) -> None:
    project = pyproject["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text("utf-8").startswith("MIT License")
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    # PEP 639 license expressions need setuptools 77.
    assert pyproject["build-system"]["requires"] == ["setuptools>=77"]


def test_python_versions_agree(pyproject: dict[str, Any]) -> None:
    noxfile = (ROOT / "noxfile.py").read_text("utf-8")
    matrix = re.search(r"^PYTHONS = \[(.*)\]$", noxfile, re.M)
    assert matrix is not None
    pythons = re.findall(r'"(3\.\d+)"', matrix[1])
    classifiers = [
        c.rsplit(" :: ", 1)[1]
        for c in pyproject["project"]["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert classifiers == pythons
    assert pyproject["project"]["requires-python"] == f">={pythons[0]}"


def test_every_package_file_is_declared(pyproject: dict[str, Any]) -> None:
    setuptools = pyproject["tool"]["setuptools"]
    patterns = setuptools["package-data"]["pytest_syncmap"]
    regular_packages = {p.parent for p in PACKAGE.rglob("__init__.py")}
    needing_declaration = [
        path.relative_to(PACKAGE)
        for path in PACKAGE.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and (path.suffix != ".py" or path.parent not in regular_packages)
    ]
    assert needing_declaration, "expected py.typed at least"
    undeclared = [p for p in needing_declaration if not any(p.match(pat) for pat in patterns)]
    assert not undeclared, f"not in [tool.setuptools.package-data]: {undeclared}"
