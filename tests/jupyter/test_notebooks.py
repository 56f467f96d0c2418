"""The tutorial notebooks, run top to bottom on fresh kernels under nbval (``make test`` runs this).

The notebooks are copied to a temporary folder (they build their example
models into ``build/`` and write ``drum_models/`` next to themselves) and run
there by ``pytest --nbval`` in a subprocess: every stored output is compared
after ``notebooks/nbval_sanitize.cfg`` has masked what differs between runs
(ports, PIDs, timings, timestamps, inline images, widget ids).
Each needs only what its title says: R with caret (``_r_``), a JDK and h2o (``_java_``), Dask
(``_dask_``); a notebook whose needs are missing is skipped and named.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = NOTEBOOKS / "nbval_sanitize.cfg"
TUTORIALS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.timeout(720)


def _has_r_with_caret() -> bool:
    if shutil.which("Rscript") is None or importlib.util.find_spec("rpy2") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "quit(status = !requireNamespace('caret', quietly = TRUE))"],
                           capture_output=True, env={**os.environ, "TZ": "UTC"}, timeout=60)
    return probe.returncode == 0


def _needs(name: str) -> str | None:
    if "openai" in name and importlib.util.find_spec("openai") is None:
        return "needs the openai package (pip install openai)"
    if "_dask_" in name and importlib.util.find_spec("distributed") is None:
        return "needs Dask (pip install 'drumnb[dask]')"
    if "_java_" in name and (shutil.which("javac") is None or importlib.util.find_spec("h2o") is None):
        return "needs a JDK and h2o (apt-get install openjdk-17-jdk-headless; pip install 'drumnb[java]')"
    if "_r_" in name and not _has_r_with_caret():
        return "needs R with caret and rpy2 (apt-get install r-base-core r-cran-caret; pip install 'drumnb[r]')"
    return None


def test_the_tutorials_exist_and_are_clean():
    assert [n[:3] for n in TUTORIALS] == ["01_", "02_", "03_", "04_", "05_", "06_", "07_", "08_",
                                             "09_", "10_"], TUTORIALS
    for name in TUTORIALS:
        nb = json.loads((NOTEBOOKS / name).read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and cell.get("outputs"):
                # nbval: a stored output needs an execution count, else "Unrun reference cell has outputs"
                assert cell["execution_count"] is not None, (name, cell["source"][:1])
            text = "".join(cell["source"])
            assert "/tmp/" not in text and "/work/" not in text, (name, "absolute paths")
            # what a reader sees holds no test markers: nbval reads cell tags (nbval-ignore-output ...)
            assert "NBVAL" not in text, (name, text[:60])
            for out in cell.get("outputs", []):  # a widget saved with a view GitHub and nbviewer can show
                data = out.get("data", {})
                if "application/vnd.jupyter.widget-view+json" in data and "%|" not in "".join(data.get("text/plain", "")):
                    assert "drumnb-static" in "".join(data.get("text/html", "")), (name, data.get("text/plain"))
    quickstart = "".join("".join(c["source"]) for c in json.loads((NOTEBOOKS / TUTORIALS[0]).read_text())["cells"])
    assert all(f"]({n})" in quickstart for n in TUTORIALS[1:]), "01's Next links name every tutorial"


def test_tutorials_under_nbval(tmp_path, monkeypatch):
    pytest.importorskip("nbval")
    needs = {n: _needs(n) for n in TUTORIALS}
    run = [n for n in TUTORIALS if not needs[n]]
    for name in run:
        shutil.copy(NOTEBOOKS / name, tmp_path / name)
    shutil.copy(SANITIZE, tmp_path / SANITIZE.name)
    # PWD as when Jupyter starts in the notebooks' folder (rpy2 warns when R finds another PWD)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "PYTHONDONTWRITEBYTECODE": "1",
           "PWD": str(tmp_path)}
    env.pop("DRUMNB_MODELS_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", SANITIZE.name, "--nbval-cell-timeout", "180", "-o", "addopts=",
         "-o", "filterwarnings=ignore::DeprecationWarning", "--rootdir", str(tmp_path), *run],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=660)
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])
    assert proc.returncode == 0, tail
    # nothing keeps running after the notebooks: every server they started was stopped
    from drumnb import server_registry as registry

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", env["JUPYTER_RUNTIME_DIR"])
    assert registry.entries() == []
    skipped = {n: why for n, why in needs.items() if why}
    if skipped:
        pytest.skip(f"ran {len(run)} tutorials; skipped {skipped}")
