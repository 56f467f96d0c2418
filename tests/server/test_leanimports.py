"""Server workers skip SciPy's import-time docstring rewriting (drumnb.server.leanimports): same SciPy otherwise.

Each case runs in a fresh interpreter, since the trim applies when SciPy is first imported.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("scipy")

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
