"""python -m drumnb.examples DIR [--score] [--only NAME ...] [--next]"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from . import build


def next_steps(out_dir: str) -> str:
    """What to try after ``make run LAB=0``: the tutorials, the CLI and the server on one example."""
    first = os.path.join(out_dir, "sklearn_regressor")
    data = os.path.join(out_dir, "data", "sklearn_regressor.csv")
    return "\n".join([
        f"\nThe example model folders are in {out_dir}/. Next, try one of:",
        "  make run            JupyterLab on the tutorials in notebooks/ (start with 01_quickstart.ipynb);",
        "                      the DRUM sidebar on the left lists these folders",
        f"  .venv/bin/drumnb score --code-dir {first} --input {data}",
        f"  .venv/bin/drumnb server --code-dir {first} --address 127.0.0.1:8080",
        "                      then: curl -X POST 127.0.0.1:8080/predict/ -H 'Content-Type: text/csv' "
        f"--data-binary @{data}",
        "  .venv/bin/drumnb new --code-dir my_model      a template model folder of your own",
    ])


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m drumnb.examples",
                                description="Build example DRUM model folders (and score them).")
    p.add_argument("dir", help="where to write the model folders")
    p.add_argument("--score", action="store_true", help="score each example with `drumnb score`")
    p.add_argument("--only", nargs="+", help="build only these examples")
    p.add_argument("--force", action="store_true", help="rebuild folders that exist")
    p.add_argument("--next", action="store_true", help="only print what to do next with the folders in DIR")
    args = p.parse_args()
    if args.next:
        print(next_steps(args.dir))
        return 0
    built = build(args.dir, args.only, force=args.force)
    if not args.score:
        print(f"built {len(built)} example model folders in {args.dir}: {', '.join(built)}")
        return 0
    with open(os.path.join(args.dir, "examples.json")) as fh:
        meta = json.load(fh)
    failed = 0
    for name, folder in built.items():
        cmd = [sys.executable, "-m", "drumnb", "score", "--code-dir", folder,
               "--input", os.path.join(args.dir, "data", f"{name}.csv"), *meta[name]["flags"]]
        print(f"\n$ drumnb score --code-dir {folder} --input {args.dir}/data/{name}.csv {' '.join(meta[name]['flags'])}"
              f"   # {meta[name]['doc']}".rstrip(" #"))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = proc.stdout.splitlines()
        print("\n".join(lines[:6]) + (f"\n... ({len(lines) - 1} rows)" if len(lines) > 6 else ""))
        if proc.returncode:
            failed += 1
            print(proc.stderr, file=sys.stderr)
    print(f"\nscored {len(built) - failed} of {len(built)} example models")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
