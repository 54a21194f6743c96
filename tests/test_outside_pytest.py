"""A wired official client outside pytest, and the README's "Without pytest" snippet.

Both run in a fresh interpreter with ``TWILIO_REGION``/``TWILIO_EDGE`` set (they turn
``127.0.0.1`` into ``127.ie1.0.1`` for a client that only sets ``base_url``) and every
proxy variable pointing at a dead proxy, with no pytest plugin involved.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def hostile_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("NO_PROXY", "no_proxy", "PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        env.pop(name, None)
    env.update(
        TWILIO_REGION="ie1",
        TWILIO_EDGE="dublin",
        TWILIO_ACCOUNT_SID="AC" + "f0" * 16,
        TWILIO_AUTH_TOKEN="a-production-token",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        ALL_PROXY="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
    )
    return env


def run_python(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def readme_snippet(heading: str) -> str:
    section = README.read_text().split(f"## {heading}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no python snippet under {heading!r}"
    return match.group(1)


def test_the_readme_snippet_runs_as_written(hostile_env, tmp_path):
    snippet = readme_snippet("Without pytest")
    done = run_python(snippet + "\nprint('snippet ok')\n", hostile_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "snippet ok"


def test_sync_and_async_wired_clients_ignore_region_edge_and_proxies(hostile_env, tmp_path):
    code = textwrap.dedent(
        """
        import asyncio

        from pytest_syncmap import SyncServer

        with SyncServer() as server:
            maps = server.client().sync.v1.services("default").sync_maps
            maps.create(unique_name="m")
            maps("m").sync_map_items.create(key="sync", data={})

            async def main():
                items = server.async_client().sync.v1.services("default").sync_maps(
                    "m"
                ).sync_map_items
                await items.create_async(key="async", data={})
                return [i.key for i in await items.list_async()]

            print(asyncio.run(main()))
            print(len(server.journal), server.journal.entries[-1].status)
        """
    )
    done = run_python(code, hostile_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["['async', 'sync']", "4 200"]
