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


# --- the in-process Jupyter shell (tests/jupyter_support.py has the helpers) ---------------------

@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    path = tmp_path_factory.mktemp("runtime")
    old = os.environ.get("JUPYTER_RUNTIME_DIR")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("JUPYTER_RUNTIME_DIR", None)
    else:
        os.environ["JUPYTER_RUNTIME_DIR"] = old


@pytest.fixture(scope="module")
def ip(runtime):
    pytest.importorskip("IPython")
    from IPython.testing.globalipapp import get_ipython, start_ipython

    shell = start_ipython() or get_ipython()  # one shell per session; each module loads drumnb anew
    shell.display_formatter.active_types = ["text/plain", "text/html", "image/png"]  # as a notebook shows
    shell.run_cell("%load_ext drumnb")
    yield shell
    from drumnb.jupyter import launcher

    launcher.stop_all()


@pytest.fixture(scope="module")
def ex(tmp_path_factory):
    from drumnb.examples import build

    out = tmp_path_factory.mktemp("nb-examples")
    build(str(out), ["sklearn_regressor", "sklearn_binary", "sklearn_multiclass", "all_hooks"])
    return out


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """Each test in its own notebook folder, with an empty workspace."""
    from drumnb.jupyter.workspace import WORKSPACE

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DRUMNB_MODELS_DIR", raising=False)
    WORKSPACE.folders.clear()
    WORKSPACE.forget()
    yield
    WORKSPACE.folders.clear()
    WORKSPACE.forget()
