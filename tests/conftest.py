from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def examples(tmp_path_factory) -> Path:
    """The bundled example model folders, built once per test session."""
    from drumnb.examples import build

    out = tmp_path_factory.mktemp("examples")
    build(str(out))
    return out


def run_cli(*args: str, input: bytes | None = None, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    """Run ``python -m drumnb ARGS`` in a fresh process, as a user would."""
    full_env = {**os.environ, **(env or {})}
    # pickled test fixtures (tests/fixtures.py classes) must import in the child too
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent), full_env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "drumnb", *args], capture_output=True, input=input,
                          env=full_env, cwd=cwd, timeout=300)


@pytest.fixture
def cli():
    return run_cli
