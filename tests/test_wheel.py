"""The release artefacts: the sdist and wheel as PyPI would get them, and the wheel on its own.

``python -m build`` makes an sdist and, from it, a wheel (so the sdist is proved
complete); both must build without a warning and pass ``twine check --strict``. The
wheel must hold every file of the package (``py.typed`` and the child-process bootstrap
``host/child/sitecustomize.py`` included), the ``pytest11`` entry point, the SPDX
license and the version of ``pytest_syncmap/__init__.py``.

Then the wheel, not the checkout and not an editable install, goes into a fresh virtual
environment with nothing but its declared dependencies plus ``twilio``, and from a
directory outside the checkout that environment runs a copy of ``examples/`` and a
pytester smoke test of the plugin.

This downloads from PyPI (setuptools for the build, the dependencies for the venv), so
it runs only when asked: ``nox -s wheel``, or ``SYNCMAP_WHEEL_TEST=1 pytest
tests/test_wheel.py`` in an environment that has ``build`` and ``twine``.
"""

from __future__ import annotations

import ast
import email
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pytest_syncmap"
OPT_IN = "SYNCMAP_WHEEL_TEST"
TIMEOUT = 600

pytestmark = pytest.mark.skipif(
    os.environ.get(OPT_IN) != "1",
    reason=(
        "builds the wheel and installs it from PyPI into a fresh virtual environment: "
        f"run `nox -s wheel` (or `{OPT_IN}=1 pytest tests/test_wheel.py` with build and twine)"
    ),
)


def _source_version() -> str:
    """``__version__`` as written in the source, read without importing the package."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text("utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    raise AssertionError("no literal __version__ in pytest_syncmap/__init__.py")


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that could point a child at the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SYNCMAP_", "PYTEST_", "PYTHON", "VIRTUAL_ENV", "NOX_"))
    }
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; fail with its output unless it exits 0. Returns stdout + stderr."""
    done = subprocess.run(
        args,
        cwd=cwd,
        env=env if env is not None else _clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{output}"
    return output


@dataclass
class Dist:
    """The built artefacts and what the build printed."""

    sdist: Path
    wheel: Path
    log: str


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """``python -m build`` of the checkout: sdist, then the wheel built from the sdist."""
    for tool in ("build", "twine"):
        if shutil.which(tool) is None and not _has_module(tool):
            pytest.fail(f"{tool} is not installed: `python -m pip install build twine`")
    out = tmp_path_factory.mktemp("dist")
    log = _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dist(sdist=sdist, wheel=wheel, log=log)


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_build_prints_no_warning(dist: Dist) -> None:
    warnings = [
        line
        for line in dist.log.splitlines()
        if "warn" in line.lower() or "deprecat" in line.lower()
    ]
    assert not warnings, "the build warned:\n" + "\n".join(warnings)


def test_twine_check_strict_passes(dist: Dist) -> None:
    output = _run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist.sdist), str(dist.wheel)],
        cwd=dist.wheel.parent,
    )
    assert output.count("PASSED") == 2, output


def test_wheel_holds_the_whole_package_and_its_metadata(dist: Dist) -> None:
    version = _source_version()
    assert dist.wheel.name == f"pytest_syncmap-{version}-py3-none-any.whl"
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
        info = f"pytest_syncmap-{version}.dist-info"
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    expected = {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert "pytest_syncmap/py.typed" in expected
    assert "pytest_syncmap/host/child/sitecustomize.py" in expected
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"
    assert not {n for n in names if n.startswith("pytest_syncmap/")} - expected
    assert f"{info}/licenses/LICENSE" in names
    assert "[pytest11]\nsyncmap = pytest_syncmap.plugin" in entry_points
    assert metadata["Version"] == version
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert not [c for c in metadata.get_all("Classifier") or [] if c.startswith("License ::")]
    assert metadata["Requires-Python"] == ">=3.10"
    assert "Typing :: Typed" in (metadata.get_all("Classifier") or [])


def test_sdist_holds_what_checks_the_project(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for needed in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "noxfile.py",
        "pyproject.toml",
        "pytest_syncmap/py.typed",
        "pytest_syncmap/host/child/sitecustomize.py",
        "tests/conftest.py",
        "tests/node/sync_scenario.js",
        "examples/rate_limiter/test_rate_limiter.py",
    ):
        assert needed in names, f"{needed} is missing from the sdist"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


# ------------------------------------------------------------- the installed wheel
@dataclass
class Installed:
    """A fresh virtual environment holding the wheel, and a directory outside the checkout."""

    python: Path
    work: Path


@pytest.fixture(scope="module")
def installed(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel and ``twilio`` (with their dependencies, nothing else) in a new venv."""
    base = tmp_path_factory.mktemp("venv")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    python = venv / "bin" / "python"
    _run(
        [str(python), "-m", "pip", "install", "--quiet", str(dist.wheel), "twilio"],
        cwd=base,
    )
    _run([str(python), "-m", "pip", "check"], cwd=base)
    work = tmp_path_factory.mktemp("outside")
    assert ROOT not in work.parents
    return Installed(python=python, work=work)


def test_the_wheel_is_what_gets_imported(installed: Installed, dist: Dist) -> None:
    output = _run(
        [
            str(installed.python),
            "-c",
            "import importlib.metadata as m, pytest_syncmap as p; "
            "print(p.__file__); print(m.version('pytest-syncmap')); print(p.__version__)",
        ],
        cwd=installed.work,
    )
    where, meta_version, code_version = output.split()
    assert Path(where).is_relative_to(installed.python.parent.parent), where
    assert meta_version == code_version == _source_version()


def test_examples_pass_against_the_installed_wheel(installed: Installed) -> None:
    examples = installed.work / "examples"
    shutil.copytree(ROOT / "examples", examples)
    output = _run(
        [str(installed.python), "-m", "pytest", "-p", "no:cacheprovider", "examples"],
        cwd=installed.work,
    )
    assert f"syncmap-{_source_version()}" in output, output  # pytest's "plugins:" line
    last = output.strip().splitlines()[-1]
    assert " passed" in last, output
    assert "failed" not in last, output
    assert "error" not in last, output


SMOKE = '''
pytest_plugins = ["pytester"]

INNER = """
import pytest
from twilio.rest import Client


@pytest.mark.sync_map(unique_name="carts", items={"alice": {"n": 1}})
def test_items_and_time(sync_map, sync_clock):
    items = Client().sync.v1.services(sync_map.service_sid).sync_maps("carts").sync_map_items
    items.create(key="bob", data={"n": 2}, ttl=60)
    assert items("alice").fetch().data == {"n": 1}
    sync_clock.advance(seconds=61)
    sync_map.assert_expired("bob")


def test_nothing_leaked(twilio_client):
    services = twilio_client.sync.v1.services
    maps = [m.unique_name for s in services.list() for m in services(s.sid).sync_maps.list()]
    assert maps == []
"""


def test_plugin_from_the_wheel(pytester):
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2)
'''


def test_pytester_smoke_against_the_installed_wheel(installed: Installed) -> None:
    (installed.work / "test_smoke.py").write_text(SMOKE, "utf-8")
    output = _run(
        [str(installed.python), "-m", "pytest", "-p", "no:cacheprovider", "test_smoke.py"],
        cwd=installed.work,
    )
    assert "1 passed" in output.strip().splitlines()[-1], output
