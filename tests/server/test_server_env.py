"""`drumnb env DIR`: the drop-in environment, and its start_server.sh run directly on 127.0.0.1."""
from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import run_cli
from server_support import HOST, broken_folder, csv_bytes, data, free_port, linear_folder, start_server

assert start_server  # a fixture, used by name below


@pytest.fixture(scope="module")
def env_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("env") / "python3_drumnb"
    proc = run_cli("env", str(out), "--tar")
    assert proc.returncode == 0, proc.stderr.decode()
    return out


def test_env_writes_the_drop_in_files(env_dir):
    names = {p.name for p in env_dir.iterdir()}
    assert {"Dockerfile", "requirements.txt", "start_server.sh", "env_info.json", "README.md", "drumnb"} <= names
    assert os.access(env_dir / "start_server.sh", os.X_OK)
    dockerfile = (env_dir / "Dockerfile").read_text()
    assert "EXPOSE 8080" in dockerfile and "/opt/code/start_server.sh" in dockerfile
    assert "WITH_ERROR_SERVER=1" in dockerfile
    reqs = (env_dir / "requirements.txt").read_text()
    names = reqs.lower().replace("_", "-")  # distribution names compare normalized (PEP 503)
    for dist in ("pandas==", "flask==", "gunicorn==", "prometheus-client==", "scikit-learn=="):
        assert dist in names, dist
    assert (env_dir / "drumnb" / "server" / "app.py").is_file()
    assert not list((env_dir / "drumnb").rglob("__pycache__"))


def test_env_tarball_is_tar_czf_of_the_folder(env_dir):
    tarball = Path(str(env_dir) + ".tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        mode = tar.getmember("./start_server.sh").mode
    assert {"./Dockerfile", "./requirements.txt", "./start_server.sh"} <= set(names)
    assert mode & 0o111


def test_env_refuses_to_overwrite_without_force(env_dir):
    proc = run_cli("env", str(env_dir))
    assert proc.returncode == 1 and b"--force" in proc.stderr
    assert run_cli("env", str(env_dir), "--force").returncode == 0


def test_onnx_environment_matches_the_seed(tmp_path):
    out = tmp_path / "python3_onnx"
    proc = run_cli("env", str(out), "--onnx", "--tar", str(tmp_path / "py_dropin.tar.gz"))
    assert proc.returncode == 0, proc.stderr.decode()
    reqs = (out / "requirements.txt").read_text().lower()
    assert "onnxruntime==" in reqs and "numpy==" in reqs
    for other in ("scikit-learn", "torch", "tensorflow", "xgboost", "skl2onnx"):
        assert other not in reqs
    readme = (out / "README.md").read_text()
    assert "tar -czf py_dropin.tar.gz -C python3_onnx ." in readme and ".onnx" in readme and "prob" in readme
    assert (tmp_path / "py_dropin.tar.gz").is_file()


def _start_script(start_server, env_dir, code_dir, *, prefix="", extra_env=None, statuses=(200,)):
    port = free_port()
    env = {"CODE_DIR": str(code_dir), "ADDRESS": f"{HOST}:{port}", "PYTHON": sys.executable,
           "URL_PREFIX": prefix, "TARGET_TYPE": "regression", **(extra_env or {})}
    server = start_server([], command=[str(env_dir / "start_server.sh")], env=env, wait=False)
    server.port, server.url = port, f"http://{HOST}:{port}{prefix}"
    return server.wait_ready(60, statuses)


def test_start_server_sh_serves_code_dir_under_url_prefix(start_server, env_dir, tmp_path):
    folder = linear_folder(tmp_path)
    server = _start_script(start_server, env_dir, folder, prefix="/deployments/42")
    r = server.post("/predict/", data=csv_bytes(data(3)), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and len(r.json()["predictions"]) == 3
    info = server.get("/info/").json()
    assert info["codeDir"] == str(folder) and info["urlPrefix"] == "/deployments/42"


def test_start_server_sh_keeps_serving_a_broken_model_as_513(start_server, env_dir, tmp_path):
    server = _start_script(start_server, env_dir, broken_folder(tmp_path), statuses=(513,))
    assert "the weights file is corrupt" in server.get("/health/").json()["message"]
    assert server.proc.poll() is None


def test_start_server_sh_honours_max_workers(start_server, env_dir, tmp_path):
    server = _start_script(start_server, env_dir, linear_folder(tmp_path), extra_env={"MAX_WORKERS": "2"})
    assert server.get("/info/").json()["drumServer"] == "gunicorn"


def test_onnx_environment_serves_an_artifact_only_onnx_model(start_server, tmp_path):
    pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    from drumnb.examples import build

    folder = Path(build(str(tmp_path / "models"), names=["onnx_regressor"])["onnx_regressor"])
    (folder / "model-metadata.yaml").unlink()  # the example says it is a regressor; here nothing but the artifact
    assert [p.suffix for p in folder.iterdir() if not p.name.startswith(".")] == [".onnx"]  # artifact only
    env_dir = tmp_path / "python3_onnx"
    assert run_cli("env", str(env_dir), "--onnx").returncode == 0
    server = _start_script(start_server, env_dir, folder)
    X = (tmp_path / "models" / "data" / "onnx_regressor.csv").read_bytes()
    r = server.post("/predict/", data=X, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and len(r.json()["predictions"]) == X.count(b"\n") - 1
    assert server.get("/info/").json()["predictor"] == "onnx"
