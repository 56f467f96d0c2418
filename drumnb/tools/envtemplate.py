"""``drumnb env DIR``: a DataRobot-style drop-in environment that runs drumnb.

The folder holds ``Dockerfile``, ``requirements.txt`` (pinned to the versions
installed here, which are known to work together), ``start_server.sh``,
``env_info.json``, a ``README.md`` and a copy of the ``drumnb`` package (so
the image builds without drumnb on a package index).  ``start_server.sh``
serves the model folder ``CODE_DIR`` (default ``/opt/code``) on ``ADDRESS``
(default ``0.0.0.0:8080``) with the error server on; drumnb itself reads
``URL_PREFIX``, ``MAX_WORKERS``, ``TARGET_TYPE`` and the label variables.

``onnx=True`` writes the artifact-only ONNX environment: numpy and
onnxruntime and nothing of the other frameworks.

Which frameworks exist, the drumnb extra that installs each and the part of it a
serving image keeps are the predictor registry's (``extra``, ``env_keep``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import tarfile
from dataclasses import dataclass, field
from importlib import metadata

from .. import predictors
from ..core.errors import ConfigurationError

#: Used when drumnb runs from a source tree without installed metadata.
_FALLBACK = {"": ["pandas>=2.1", "numpy>=1.24", "pyarrow>=14", "pyyaml>=6", "scipy>=1.10", "platformdirs>=3",
                  "tqdm>=4.60"],
             "server": ["flask>=3", "gunicorn>=21", "granian>=2.8,<2.9", "orjson>=3.9", "psutil>=5.9",
                        "prometheus_client>=0.19", "werkzeug>=3"],
             "sklearn": ["scikit-learn>=1.3", "joblib"], "xgboost": ["xgboost-cpu>=2"],
             "onnx": ["onnxruntime>=1.17"], "torch": ["torch"], "tensorflow": ["tensorflow-cpu>=2.16", "h5py"]}
TORCH_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"

START_SERVER = """\
#!/bin/sh
# Start drumnb's prediction server for the model folder CODE_DIR (default /opt/code).
# It listens on ADDRESS (default 0.0.0.0:8080).  drumnb reads URL_PREFIX, MAX_WORKERS,
# TARGET_TYPE, POSITIVE_CLASS_LABEL, NEGATIVE_CLASS_LABEL and CLASS_LABELS itself.
# The error server is on: a model that fails to load answers 513 on /health/ and
# /predict/ instead of making the container crash-loop.
set -eu
CODE_DIR="${CODE_DIR:-/opt/code}"
ADDRESS="${ADDRESS:-0.0.0.0:8080}"
PYTHON="${PYTHON:-python3}"
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -d "$HERE/drumnb" ]; then
    # the copy of drumnb shipped beside this script (the image puts it on PYTHONPATH instead)
    export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
fi
export WITH_ERROR_SERVER=1
echo "start_server.sh: serving $CODE_DIR on $ADDRESS${URL_PREFIX:+ under $URL_PREFIX}" >&2
exec "$PYTHON" -m drumnb server --code-dir "$CODE_DIR" --address "$ADDRESS" --with-error-server "$@"
"""

DOCKERFILE = """\
# {title}
# Build: docker build -t {image} .   Run: docker run -p 8080:8080 -v $PWD/my_model:/opt/code {image}
FROM python:{python}-slim

ENV PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PYTHONPATH=/opt/drumnb \\
    CODE_DIR=/opt/code \\
    ADDRESS=0.0.0.0:8080 \\
    WITH_ERROR_SERVER=1

COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

# drumnb itself, as shipped in this folder; the model folder goes to /opt/code
COPY drumnb /opt/drumnb/drumnb
COPY start_server.sh /opt/code/start_server.sh
RUN chmod 755 /opt/code/start_server.sh

WORKDIR /opt/code
EXPOSE 8080
CMD ["/opt/code/start_server.sh"]
"""

README_ONNX = """\
# ONNX drop-in environment (drumnb)

Runs artifact-only ONNX custom models: the model folder needs nothing but one
`.onnx` file.  Installed: numpy and onnxruntime (plus drumnb and what it needs:
pandas, pyarrow, Flask, gunicorn); see `requirements.txt` for the versions.

## Build the environment tarball

    tar -czf py_dropin.tar.gz -C {folder} .

(`drumnb env {folder} --onnx --tar` writes it for you), then create a custom
environment from that tarball with the API or the UI.

## What the model folder must hold

- exactly one file ending in `.onnx`, plus any `custom.py` the model needs;
- the data sent to the model is scored as it arrives (no pre-processing);
- regression: one number per row (the first output of the session);
- binary: per row either one probability (taken as the positive class) or two
  probabilities summing to 1 (negative class first);
- binary and multiclass probabilities are read from the first output, or from
  an output whose name contains `prob` (such as `output_probability`).

If a model does not fit these rules, add a `custom.py` (`load_model`, `score`,
...) to the model folder.  Archive layout:

    custom_model.tar.gz
      model.onnx
      custom.py        (only if needed)

## Local check without Docker

    CODE_DIR=/path/to/model ADDRESS=127.0.0.1:8080 ./start_server.sh
    curl -s 127.0.0.1:8080/health/
"""

README_GENERIC = """\
# drumnb drop-in environment

Serves a DRUM custom model folder with `drumnb server`: port 8080, every DRUM
route under `URL_PREFIX`, error server on (a failed load answers 513).
Frameworks: {frameworks}.  Versions: `requirements.txt`.

    tar -czf drumnb_env.tar.gz -C {folder} .      # the environment tarball
    CODE_DIR=/path/to/model ADDRESS=127.0.0.1:8080 ./start_server.sh   # local check
"""


@dataclass
class EnvResult:
    folder: str
    files: list[str] = field(default_factory=list)
    tarball: str | None = None


def _requirement_lines(extra: str, keep: tuple[str, ...] | None = None) -> list[str]:
    """Distributions of drumnb's ``extra`` ("" for the core), pinned to the installed versions."""
    try:
        specs = [r for r in (metadata.requires("drumnb") or [])]
        selected = []
        for spec in specs:
            req, _, marker = spec.partition(";")
            in_extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
            if (in_extra.group(1) if in_extra else "") == extra and not req.strip().startswith("drumnb"):
                selected.append(req.strip())
    except metadata.PackageNotFoundError:
        selected = list(_FALLBACK.get(extra, []))
    out = []
    for req in selected:
        name = re.match(r"[A-Za-z0-9_.\-]+", req).group(0)  # type: ignore[union-attr]
        if keep is not None and name.lower() not in keep:
            continue
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(req)
    return out


def requirements(frameworks: list[str]) -> str:
    lines = ["# drumnb and what it needs", *_requirement_lines(""), *_requirement_lines("server")]
    specs = predictors.env_frameworks()
    for fw in frameworks:
        extra, keep = specs[fw].extra or "", specs[fw].env_keep
        lines.append(f"# {fw}")
        if fw == "torch":
            lines.append(TORCH_INDEX)
        lines += _requirement_lines(extra, keep)
    return "\n".join(lines) + "\n"


def _copy_package(dest: str) -> None:
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the drumnb package
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules"))


def write_environment(folder: str, *, onnx: bool = False, frameworks: list[str] | None = None,
                      tar: bool | str | None = None, force: bool = False) -> EnvResult:
    """Write the environment folder; with ``tar``, also ``folder.tar.gz`` (or the path given)."""
    frameworks = list(dict.fromkeys(["onnx"] if onnx else (frameworks or ["sklearn"])))
    known = predictors.env_frameworks()
    unknown = [f for f in frameworks if f not in known]
    if unknown:
        raise ConfigurationError(f"unknown framework(s) {unknown}", hint=f"choose from {sorted(known)}")
    folder = os.path.abspath(folder)
    names = ["Dockerfile", "requirements.txt", "start_server.sh", "env_info.json", "README.md"]
    existing = [n for n in names if os.path.exists(os.path.join(folder, n))]
    if existing and not force:
        raise ConfigurationError(f"{folder} already holds {existing}", hint="pass --force to replace them")
    os.makedirs(folder, exist_ok=True)
    title = ("Python 3 ONNX drop-in environment for artifact-only models, served by drumnb" if onnx
             else f"Python 3 drop-in environment ({', '.join(frameworks)}), served by drumnb")
    image = "drumnb-onnx" if onnx else "drumnb-env"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    readme = (README_ONNX if onnx else README_GENERIC).format(folder=os.path.basename(folder),
                                                              frameworks=", ".join(frameworks))
    info = {"name": "[drumnb] python3 onnx" if onnx else f"[drumnb] python3 {'+'.join(frameworks)}",
            "description": title, "programmingLanguage": "python", "frameworks": frameworks}
    contents = {"Dockerfile": DOCKERFILE.format(title=title, image=image, python=python),
                "requirements.txt": requirements(frameworks), "start_server.sh": START_SERVER,
                "env_info.json": json.dumps(info, indent=2) + "\n", "README.md": readme}
    result = EnvResult(folder)
    for name, text in contents.items():
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        result.files.append(path)
    script = os.path.join(folder, "start_server.sh")
    os.chmod(script, os.stat(script).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    _copy_package(os.path.join(folder, "drumnb"))
    result.files.append(os.path.join(folder, "drumnb") + os.sep)
    if tar:
        result.tarball = os.path.abspath(tar if isinstance(tar, str) else folder.rstrip(os.sep) + ".tar.gz")
        with tarfile.open(result.tarball, "w:gz") as archive:  # what `tar -czf OUT -C folder .` writes
            archive.add(folder, arcname=".")
    return result
