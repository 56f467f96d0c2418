"""Server workers skip SciPy's import-time docstring rewriting (drumnb.server.leanimports): same SciPy otherwise.

Each case runs in a fresh interpreter, since the trim applies when SciPy is first imported.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from drumnb.server import leanimports
from fixtures import write_folder
from server_support import start_server

assert start_server  # a fixture, used by name below

PROBE = r"""
import json, sys
from drumnb.server import leanimports
installed = leanimports.install() if sys.argv[1] == "lean" else False
import numpy as np
import scipy.stats
from scipy._lib import _array_api
doc = scipy.stats.ttest_ind.__doc__ or ""
result = scipy.stats.ttest_ind([1.0, 2.0, 3.0, 4.0], [2.0, 3.5, 4.0, 6.0])
caps = _array_api.xp_capabilities_table.get(scipy.stats.ttest_ind)
print(json.dumps({"installed": installed, "note": "Array API Standard Support" in doc,
                  "table": len(_array_api.xp_capabilities_table), "caps": sorted(caps) if caps else None,
                  "statistic": float(result.statistic), "again": leanimports.install()}))
"""


def _probe(mode: str, **env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env}, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_scipy_keeps_its_capabilities_and_results_without_the_docstring_rewrite():
    lean, plain = _probe("lean"), _probe("plain")
    if not plain["note"]:
        pytest.skip("this SciPy does not rewrite docstrings at import")
    assert lean["installed"] and not lean["note"] and plain["note"]
    assert lean["table"] == plain["table"] > 100 and lean["caps"] == plain["caps"]  # the same capabilities recorded
    assert lean["statistic"] == plain["statistic"]
    assert lean["again"] is False  # SciPy is in: installing again does nothing


def test_lean_imports_can_be_turned_off():
    probe = _probe("lean", DRUMNB_LEAN_IMPORTS="0")
    assert probe["installed"] is False and probe["note"] in (True, False)


def test_the_collector_pauses_while_the_app_loads_and_runs_again_after():
    import gc

    assert gc.isenabled()
    with leanimports.no_gc_passes():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), leanimports.no_gc_passes():
        raise RuntimeError("the load failed")
    assert gc.isenabled()  # a failed load leaves it running too
    gc.disable()
    try:
        with leanimports.no_gc_passes():
            pass
        assert not gc.isenabled()  # someone else's choice is kept
    finally:
        gc.enable()


def test_a_real_worker_collects_again_once_it_serves(start_server, tmp_path):
    folder = write_folder(tmp_path, "gc_probe", """
        import gc
        import pandas as pd

        def load_model(code_dir):
            return "model"

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": [float(gc.isenabled())] * len(data)})
    """)
    server = start_server(["-cd", str(folder), "--target-type", "regression"])
    answer = server.post("/predict/", data=b"x\n1\n2\n", headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200 and answer.json() == {"predictions": [1.0, 1.0]}
