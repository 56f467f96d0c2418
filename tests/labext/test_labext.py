"""drumnb's Jupyter server extension (drumnb/labext) without a browser: folders, registry, stop, REST errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error

import pytest

pytest.importorskip("jupyter_server")
pytestmark = pytest.mark.timeout(120)


def test_model_folders_are_described_without_running_them(tmp_path):
    from drumnb.examples import build
    from drumnb.labext import folders

    build(str(tmp_path / "models"), ["sklearn_regressor", "sklearn_binary", "all_hooks"])
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "model-metadata.yaml").write_text("name: x\ntargetType: [unclosed\n")
    (bad / "custom.py").write_text("def scroe(data, model):\n    return data\n")
    unstructured = tmp_path / "drum_models" / "echo"
    unstructured.mkdir(parents=True)
    (unstructured / "custom.py").write_text("def score_unstructured(model, data, **kwargs):\n    return data\n")
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    (tmp_path / "node_modules" / "pkg" / "custom.py").write_text("")

    models = {m["path"]: m for m in folders.list_models(str(tmp_path))}
    assert set(models) == {"models/sklearn_regressor", "models/sklearn_binary", "models/all_hooks", "broken",
                           "drum_models/echo"}
    binary = models["models/sklearn_binary"]
    assert binary["target_type"] == "binary" and binary["target_type_source"] == "metadata"
    assert binary["artifacts"] == ["model.pkl"] and binary["predictor"] == "sklearn"
    assert binary["problems"] == []
    assert {"load_model", "score", "transform"} <= set(models["models/all_hooks"]["hooks"])
    broken = [p["message"] for p in models["broken"]["problems"]]
    assert any("not valid YAML" in m for m in broken), broken
    assert any("did you mean 'score'" in m for m in broken), broken
    assert any("nothing to score" in m for m in broken), broken
    echo = models["drum_models/echo"]
    assert echo["target_type"] == "unstructured" and echo["hooks"] == ["score_unstructured"]
    # a sub-folder only; nothing outside the root
    assert [m["path"] for m in folders.list_models(str(tmp_path), "models/sklearn_binary")] == \
        ["models/sklearn_binary"]
    with pytest.raises(ValueError):
        folders.list_models(str(tmp_path), "../")


def test_servers_are_read_from_the_registry_and_stopped_by_pid(tmp_path, monkeypatch):
    from drumnb import server_registry as registry
    from drumnb.labext import handlers

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        registry.write({"name": "fake", "pid": proc.pid, "port": 9, "host": "127.0.0.1",
                        "url": "http://127.0.0.1:9", "create_time": registry.process_create_time(proc.pid)})
        [row] = handlers.list_servers()
        assert row["name"] == "fake" and row["pid"] == proc.pid
        assert row["health"]["ok"] is False and row["health"]["message"]   # nothing listens on port 9
        assert row["memory_mb"] and row["memory_mb"] > 1
        with pytest.raises(KeyError):           # a PID that is not a registered server is never signalled
            handlers.stop_server(os.getpid())
        answer = handlers.stop_server(proc.pid)
        assert answer == {"stopped": True, "pid": proc.pid, "name": "fake", "signal": "SIGTERM"}
        assert proc.wait(timeout=5) == -15
        assert registry.entries() == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_rest_routes_of_a_real_jupyter_server(tmp_path):
    from ui_support import Lab

    root = tmp_path / "root"
    (root / "taken").mkdir(parents=True)
    (root / "taken" / "file.txt").write_text("x")
    lab = Lab(tmp_path, root).start()
    try:
        info = lab.api("/drumnb/api/info")
        assert info["root_dir"] == str(root)
        assert lab.api("/drumnb/api/models") == {"root_dir": str(root), "path": "", "models": []}
        assert lab.api("/drumnb/api/servers") == {"servers": []}
        # the "New DRUM model" choices are the registry's (the front end keeps no list of its own)
        from drumnb import predictors

        assert lab.api("/drumnb/api/frameworks") == {"languages": predictors.template_languages(),
                                                     "frameworks": list(predictors.templates("python"))}

        def status(path, method="GET", body=None):
            try:
                lab.api(path, method=method, body=body)
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read() or b"{}")
            return 200, None

        # without the XSRF token (a cross-site form, a script on another page) a POST is refused
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(f"{lab.url}/drumnb/api/servers/1/stop", data=b"{}",
                                                          method="POST"), timeout=10)
        assert refused.value.code == 403
        code, answer = status("/drumnb/api/servers/1/stop", "POST", {})
        assert code == 404 and "registry" in answer["message"]
        assert status("/drumnb/api/models?path=../..")[0] == 400
        code, answer = status("/drumnb/api/models", "POST", {"path": "taken"})
        assert code == 409 and "not empty" in answer["message"] and answer["hint"]
        assert status("/drumnb/api/models", "POST", {"path": "../outside"})[0] == 400
        started = time.perf_counter()
        made = lab.api("/drumnb/api/models", "POST", {"path": "r_model", "language": "r", "build": False},
                       timeout=60)
        assert made["path"] == "r_model" and made["language"] == "r"
        assert made["model"]["hook_file"] == "custom.R" and "score" in made["model"]["hooks"], made["model"]
        assert time.perf_counter() - started < 30
    finally:
        lab.stop()
