"""python -m drumnb.examples DIR [--score] [--only NAME ...]"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from . import build


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m drumnb.examples",
                                description="Build example DRUM model folders (and score them).")
    p.add_argument("dir", help="where to write the model folders")
    p.add_argument("--score", action="store_true", help="score each example with `drumnb score`")
    p.add_argument("--only", nargs="+", help="build only these examples")
    p.add_argument("--force", action="store_true", help="rebuild folders that exist")
    args = p.parse_args()
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
