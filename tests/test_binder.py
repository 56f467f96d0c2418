"""The Binder set-up (binder/): what repo2docker would build, checked without building it.

* the files: requirements with ``-e .`` and light extras only (no torch, no TensorFlow),
  jupyter-server-proxy, apt packages for R and Java, the Python version, an executable postBuild;
* ``repo2docker --no-build`` renders the Dockerfile: apt packages, then the repository, then
  ``pip install -r binder/requirements.txt``, then postBuild (skipped when repo2docker is absent);
* ``pip install --dry-run -r binder/requirements.txt`` resolves against this environment, and the
  dependency closure of what it asks for holds no CUDA / torch / TensorFlow package.  The full
  resolution from scratch (``--ignore-installed``, about a minute) runs with
  ``DRUMNB_BINDER_RESOLVE=1`` and is cached under ``build/binder-resolve/`` by the files' hash.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
HEAVY = re.compile(r"^(torch|torchvision|torchaudio|tensorflow|tensorflow-cpu|tf-keras|keras|jax|jaxlib|nvidia-.*|"
                   r"cuda-.*|triton|xgboost)$")  # plain xgboost bundles CUDA; xgboost-cpu is fine

pytestmark = pytest.mark.timeout(300)


def _requirements() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def _extras() -> list[str]:
    for req in _requirements():
        match = re.fullmatch(r"-e\s+\.\[([^\]]*)\]", req)
        if match:
            return [x.strip() for x in match.group(1).split(",")]
    raise AssertionError("binder/requirements.txt must install the repository with -e .[extras]")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_binder_files():
    assert not (ROOT / ".binder").exists(), "repo2docker refuses binder/ and .binder/ together"
    extras = _extras()
    declared = _pyproject()["project"]["optional-dependencies"]
    assert set(extras) <= set(declared), set(extras) - set(declared)
    assert {"sklearn", "server", "jupyter"} <= set(extras)
    assert not {"torch", "tensorflow", "all", "test"} & set(extras)
    names = {_name(r) for r in _requirements() if not r.startswith("-e")}
    assert "jupyter-server-proxy" in names and "openai" in names
    for extra in extras:  # the extras themselves pull nothing heavy
        for req in declared[extra]:
            assert not HEAVY.match(_name(req)), (extra, req)
    apt = [line.split("#")[0].strip() for line in (BINDER / "apt.txt").read_text().splitlines()]
    apt = [p for p in apt if p]
    assert any(p.startswith("r-base") for p in apt) and any("openjdk" in p for p in apt)
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(3)\.(\d+)", runtime)
    assert match, runtime
    low = re.search(r">=\s*3\.(\d+)", _pyproject()["project"]["requires-python"])
    assert int(match.group(2)) >= int(low.group(1))
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "postBuild must be executable"
    assert subprocess.run(["bash", "-n", str(post)]).returncode == 0
    assert "drumnb.examples notebooks/build/examples" in post.read_text()


def test_repo2docker_renders_the_dockerfile():
    exe = shutil.which("repo2docker") or (str(Path(sys.executable).parent / "repo2docker")
                                          if (Path(sys.executable).parent / "repo2docker").exists() else None)
    if exe is None:
        pytest.skip("repo2docker is not installed (pip install jupyter-repo2docker)")
    proc = subprocess.run([exe, "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan", str(ROOT)],
                          capture_output=True, text=True, timeout=120)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text[-2000:]
    assert "Building conda environment for python=3.11" in text
    apt_line = next(line for line in text.splitlines() if "apt-get install --yes --no-install-recommends" in line
                    and "openjdk" in line)
    for package in ("r-base-core", "r-base-dev", "openjdk-17-jdk-headless"):
        assert package in apt_line.split(), apt_line
    copy_repo = text.index("COPY --chown=1000:1000 src/ ${REPO_DIR}/")
    pip = text.index('pip install --no-cache-dir -r "binder/requirements.txt"')
    post = text.index("RUN ./binder/postBuild")
    assert copy_repo < pip < post, "the repository must be copied before pip installs -e ."


def _closure(names: set[str]) -> set[str]:
    """Installed distributions required (transitively, no extras) by ``names``."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in requires:
            if "extra ==" in req.replace('"', "").replace("'", ""):
                continue
            todo.append(_name(req))
    return seen


def test_requirements_resolve_here_and_pull_nothing_heavy(tmp_path):
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report),
                           "-r", "binder/requirements.txt"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    to_install = {_name(i["metadata"]["name"]) for i in json.loads(report.read_text())["install"]}
    assert not {n for n in to_install if HEAVY.match(n)}, to_install
    declared = _pyproject()["project"]
    direct = {_name(r) for r in declared["dependencies"]}
    for extra in _extras():
        direct |= {_name(r) for r in declared["optional-dependencies"][extra]}
    direct |= {_name(r) for r in _requirements() if not r.startswith("-e")}
    heavy = sorted(n for n in _closure(direct) if HEAVY.match(n))
    assert not heavy, f"binder/requirements.txt pulls {heavy}"


@pytest.mark.slow
def test_requirements_resolve_from_scratch():
    """The full resolution Binder does (no installed packages), cached by the files' hash."""
    digest = hashlib.sha256(b"".join((ROOT / p).read_bytes() for p in
                                     ("binder/requirements.txt", "pyproject.toml"))).hexdigest()[:16]
    cache = ROOT / "build" / "binder-resolve" / f"{digest}.json"
    if not cache.exists():
        if os.environ.get("DRUMNB_BINDER_RESOLVE") != "1":
            pytest.skip("run with DRUMNB_BINDER_RESOLVE=1 once to resolve from scratch (about a minute; cached)")
        cache.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                               "--report", str(cache), "-r", "binder/requirements.txt"], cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            cache.unlink(missing_ok=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
    names = {_name(i["metadata"]["name"]) for i in json.loads(cache.read_text())["install"]}
    assert {"drumnb", "jupyter-server-proxy", "openai", "jupyterlab", "ipywidgets", "scikit-learn"} <= names
    assert not sorted(n for n in names if HEAVY.match(n))
