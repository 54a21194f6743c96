"""Docs that are tests: every code block of README.md and the other docs pages runs here.

The pages are the Markdown files of the project (README.md, CHANGELOG.md, examples/ and
benchmarks/ READMEs). A fenced block runs according to its language and first line:

* a block whose first line is a comment naming a file (``# worker.py``, ``// x.js``,
  ``# pyproject.toml``) is that file: it is written next to every block that runs later
  in the same section (the nearest heading above it);
* a Python block that holds tests (a ``test_*.py`` file or a ``def test_``) runs through
  ``pytester`` in a fresh directory with the section's files, and must pass with at least
  one test;
* any other Python block runs as a script (``python block.py``) in such a directory and
  must exit 0;
* a JavaScript block runs with ``node`` against the standalone emulator
  (``python -m pytest_syncmap``) whose address and credentials it gets as
  ``TWILIO_EMULATOR_URL``, ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN``, with the
  pinned ``twilio`` npm package on ``NODE_PATH``; it skips without Node.js or the
  package (``tests/node_setup.py`` names the install step). ``emu-preload.js``, the
  twilio-cli preload, is tested on its own below, against a real ``npm install --global``
  of twilio-cli;
* blocks in other languages (shell commands, output) are not run.

An HTML comment on the line before a block changes that: ``<!-- docs-test: skip: why -->``
keeps it from running (the reason is required and shows as the skip reason), and
``<!-- docs-test: args: -n 2 -->`` adds pytest arguments to a test block's run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from node_setup import ROOT, require_node, twilio_cli_prefix, twilio_node_modules

PAGES = sorted(
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        *(ROOT / "examples").glob("*/README.md"),
        ROOT / "benchmarks" / "README.md",
    ]
)
FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")
MARKER = re.compile(r"^<!--\s*docs-test:\s*(skip|args):\s*(.*?)\s*-->\s*$")
HEADING = re.compile(r"^#{1,6} ")
FILE_NAME = re.compile(r"^(?:#|//)\s*([\w.-]+\.(?:py|js|toml|ini|cfg|json))\b")
PYTHON = {"python", "py", "python3"}
JAVASCRIPT = {"js", "javascript", "node"}
TIMEOUT = 120
PRELOAD = "emu-preload.js"


@dataclass
class Block:
    """One fenced code block of a docs page."""

    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    section: str
    skip: str | None = None
    args: list[str] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        """The file the block is, when its first line names one."""
        first = self.code.split("\n", 1)[0]
        found = FILE_NAME.match(first)
        return found[1] if found else None

    @property
    def kind(self) -> str:
        """``test``, ``script``, ``node``, ``preload``, ``file`` or ``text``."""
        name = self.name
        if self.lang in PYTHON:
            if (name or "").startswith("test_") or re.search(r"^def test_", self.code, re.M):
                return "test"
            return "file" if name else "script"
        if self.lang in JAVASCRIPT:
            if name == PRELOAD:
                return "preload"
            return "node"
        return "file" if name else "text"

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT).as_posix()}:{self.line}"


def parse(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, with their section and ``docs-test`` marker."""
    blocks: list[Block] = []
    lines = page.read_text("utf-8").splitlines()
    section, previous, i = "", "", 0
    while i < len(lines):
        line = lines[i]
        opening = FENCE.match(line)
        if opening is None:
            if HEADING.match(line):
                section = line.lstrip("#").strip()
            if line.strip():
                previous = line
            i += 1
            continue
        fence, lang = opening[1], opening[2].lower()
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        block = Block(page, i + 1, lang, "\n".join(lines[i + 1 : end]) + "\n", section)
        marker = MARKER.match(previous)
        if marker and marker[1] == "skip":
            block.skip = marker[2]
        elif marker:
            block.args = shlex.split(marker[2])
        blocks.append(block)
        previous, i = "", end + 1
    return blocks


BLOCKS = [block for page in PAGES if page.is_file() for block in parse(page)]
RUNNABLE = [b for b in BLOCKS if b.kind in ("test", "script", "node")]


def _files_before(block: Block) -> list[Block]:
    """The named file blocks of ``block``'s section above it."""
    return [
        b
        for b in BLOCKS
        if b.page == block.page
        and b.section == block.section
        and b.line < block.line
        and b.kind == "file"
        and b.skip is None
    ]


def _write_files(block: Block, where: Path) -> None:
    for file_block in _files_before(block):
        assert file_block.name is not None
        (where / file_block.name).write_text(file_block.code, "utf-8")


def _skip_if_marked(block: Block) -> None:
    if block.skip is not None:
        assert block.skip, f"{block.id}: a docs-test skip needs a reason"
        pytest.skip(f"{block.id} is marked in the docs: {block.skip}")


# ----------------------------------------------------------------- the inventory
def test_the_readme_has_blocks_of_every_kind() -> None:
    kinds = {b.kind for b in BLOCKS if b.page.name == "README.md" and b.page.parent == ROOT}
    assert {"test", "script", "node", "preload", "file"} <= kinds


def test_every_file_block_is_used_and_every_marker_is_justified() -> None:
    for block in BLOCKS:
        if block.skip is not None:
            assert len(block.skip) > 20, f"{block.id}: say why the block cannot run"
        if block.kind != "file" or block.skip is not None:
            continue
        users = [
            b
            for b in RUNNABLE
            if b.page == block.page and b.section == block.section and b.line > block.line
        ]
        assert users, f"{block.id} ({block.name}) is never used by a block that runs"


def test_every_python_block_runs() -> None:
    python = [b for b in BLOCKS if b.lang in PYTHON]
    assert python, "no Python block found"
    for block in python:
        assert block.kind in ("test", "script", "file"), block.id
        if block.kind == "file":
            assert any(
                b.section == block.section and b.page == block.page and b.line > block.line
                for b in RUNNABLE
            ), block.id


# ----------------------------------------------------------------- the blocks
@pytest.mark.parametrize("block", [b for b in RUNNABLE if b.kind == "test"], ids=lambda b: b.id)
def test_block_with_tests_passes(block: Block, pytester: pytest.Pytester) -> None:
    _skip_if_marked(block)
    _write_files(block, pytester.path)
    name = block.name or f"test_docs_{block.line}.py"
    pytester.path.joinpath(name).write_text(block.code, "utf-8")
    result = pytester.runpytest_subprocess(*block.args, name)
    outcomes = result.parseoutcomes()
    assert result.ret == 0, f"{block.id}:\n{result.stdout.str()}"
    assert outcomes.get("passed", 0) >= 1, outcomes
    assert not {"failed", "errors", "error", "xpassed"} & set(outcomes), outcomes


@pytest.mark.parametrize("block", [b for b in RUNNABLE if b.kind == "script"], ids=lambda b: b.id)
def test_script_block_runs(block: Block, tmp_path: Path) -> None:
    _skip_if_marked(block)
    _write_files(block, tmp_path)
    script = tmp_path / (block.name or f"docs_{block.line}.py")
    script.write_text(block.code, "utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{block.id} exited {done.returncode}:\n{done.stderr}"


@contextmanager
def standalone(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """``python -m pytest_syncmap --port 0``: (url, account SID, auth token); always stopped."""
    prefix = "pytest-syncmap listening on "
    with (tmp_path / "emulator.stderr").open("w+") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_syncmap", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            assert proc.stdout is not None
            first, second = proc.stdout.readline(), proc.stdout.readline()
            assert first.startswith(prefix), f"{first!r}\n{stderr.read()}"
            sid, token = second.split(":", 1)[1].split(" / ")
            yield first[len(prefix) :].strip(), sid.strip(), token.strip()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()


def _node_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    env.update(extra)
    return env


@pytest.mark.parametrize("block", [b for b in RUNNABLE if b.kind == "node"], ids=lambda b: b.id)
def test_node_block_runs_against_the_standalone_emulator(block: Block, tmp_path: Path) -> None:
    _skip_if_marked(block)
    node = require_node()
    modules = twilio_node_modules()
    _write_files(block, tmp_path)
    script = tmp_path / (block.name or f"docs_{block.line}.js")
    script.write_text(block.code, "utf-8")
    with standalone(tmp_path) as (url, sid, token):
        env = _node_env(
            NODE_PATH=str(modules),
            TWILIO_EMULATOR_URL=url,
            TWILIO_ACCOUNT_SID=sid,
            TWILIO_AUTH_TOKEN=token,
        )
        done = subprocess.run(
            [node, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"{block.id}:\n{done.stdout}\n{done.stderr}"
        journal = requests.get(f"{url}/_syncmap/journal", auth=(sid, token), timeout=10).json()
    assert journal["entries"], f"{block.id} never reached the emulator"


# ------------------------------------------------------- the twilio-cli preload
@pytest.fixture
def preload(tmp_path: Path) -> Path:
    """The README's ``emu-preload.js``, written to a directory of its own."""
    (block,) = [b for b in BLOCKS if b.kind == "preload" and b.page == ROOT / "README.md"]
    where = tmp_path / "preload"
    where.mkdir()
    path = where / PRELOAD
    path.write_text(block.code, "utf-8")
    return path


def test_preload_leaves_other_node_processes_alone(preload: Path, tmp_path: Path) -> None:
    """A node process that is not twilio-cli, anywhere, with NODE_OPTIONS set: unharmed."""
    node = require_node()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _node_env(NODE_OPTIONS=f"--require {preload}", TWILIO_EMULATOR_URL="http://127.0.0.1:9")
    for args in ([node, "-e", "console.log('still here')"], [node, "--version"]):
        done = subprocess.run(
            args, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_preload_redirects_a_globally_installed_twilio_cli(preload: Path, tmp_path: Path) -> None:
    """twilio-cli from ``npm install --global``, run from a directory that knows nothing of it."""
    prefix = twilio_cli_prefix()
    home = tmp_path / "home"
    home.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with standalone(tmp_path) as (url, sid, token):
        env = _node_env(
            HOME=str(home),
            PATH=os.pathsep.join([str(prefix / "bin"), os.environ.get("PATH", "")]),
            NODE_OPTIONS=f"--require {preload}",
            TWILIO_EMULATOR_URL=url,
            TWILIO_ACCOUNT_SID=sid,
            TWILIO_AUTH_TOKEN=token,
        )
        command = ["twilio", "api:sync:v1:services:create", "--friendly-name", "from-cli"]
        done = subprocess.run(
            [*command, "-o", "json"],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        services = requests.get(f"{url}/v1/Services", auth=(sid, token), timeout=10).json()
    assert "from-cli" in done.stdout
    assert [s["friendly_name"] for s in services["services"]].count("from-cli") == 1
