"""CSV codec speed against pandas, measured in the same run.

    python benchmarks/codec_bench.py [--rows 1000000] [--repeat 3]

Reading: ``pd.read_csv(io.BytesIO(data))`` vs ``codecs.read_csv(data)`` on
ROWS x 20 random float columns, and vs the pyarrow path alone (which
``read_csv`` takes only with ``ARROW_CSV_MIN_CPUS`` CPUs or more).  Writing:
``df.to_csv(index=False).encode()`` vs ``codecs.write_csv(df)`` on ROWS x 1
float column (a prediction column).  Each is timed REPEAT times, alternating,
the best time kept; the results are checked to be identical.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from drumnb.core import codecs  # noqa: E402


def best_of(repeat: int, *functions):
    """Best wall time of each function (run alternately) and each one's last result."""
    times, results = [float("inf")] * len(functions), [None] * len(functions)
    for _ in range(repeat):
        for i, function in enumerate(functions):
            start = time.perf_counter()
            results[i] = function()
            times[i] = min(times[i], time.perf_counter() - start)
    return times, results


def report(what: str, pandas_time: float, ours_time: float) -> None:
    print(f"{what:<44} pandas {pandas_time:7.3f} s   drumnb {ours_time:7.3f} s   "
          f"speed-up x{pandas_time / ours_time:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    import pyarrow

    cpus = codecs._available_cpus()
    print(f"pandas {pd.__version__}, pyarrow {pyarrow.__version__}, {cpus} CPUs available "
          f"(pyarrow CSV path {'on' if cpus >= codecs.ARROW_CSV_MIN_CPUS else 'off'}: "
          f"needs {codecs.ARROW_CSV_MIN_CPUS}), load average {os.getloadavg()[0]:.1f}")

    wide = pd.DataFrame(rng.random((args.rows, 20)), columns=[f"feature_{i}" for i in range(20)])
    data = wide.to_csv(index=False).encode()
    (p, ours, arrow), (want, got, got_arrow) = best_of(
        args.repeat, lambda: pd.read_csv(io.BytesIO(data)), lambda: codecs.read_csv(data),
        lambda: codecs._read_csv_arrow(data))
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(got_arrow, want, check_exact=True)
    report(f"read  {args.rows:,} x 20 floats ({len(data) / 1e6:.0f} MB)", p, ours)
    report("      the same, pyarrow path forced", p, arrow)

    predictions = pd.DataFrame({"Predictions": rng.random(args.rows)})
    (p, ours), (want, got) = best_of(args.repeat, lambda: predictions.to_csv(index=False).encode(),
                                     lambda: codecs.write_csv(predictions))
    assert got == want
    report(f"write {args.rows:,} x 1 float", p, ours)


if __name__ == "__main__":
    main()
