"""javac and the jars: compiling Java sources into a cached class folder, finding H2O's genmodel jar,
``DRUMNB_JAVA_CLASSPATH``; drumnb's own helper classes are package data files beside this module."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from importlib import resources

from ...core.errors import ArtifactError
from .jvm import JavaRuntimeUnavailable


def helper_source(name: str) -> dict[str, str]:
    """``{relative path: source}`` of drumnb's helper class ``name`` (``RowScorer``, ``H2OScorer``)."""
    text = resources.files(__package__).joinpath(f"{name}.java").read_text(encoding="utf-8")
    return {f"drumnb/{name}.java": text}


def cache_dir() -> str:
    root = os.environ.get("DRUMNB_CACHE_DIR")
    if not root:
        try:
            import platformdirs

            root = platformdirs.user_cache_dir("drumnb")
        except Exception:  # noqa: BLE001
            root = os.path.join(os.path.expanduser("~"), ".cache", "drumnb")
    return os.path.join(root, "java")


def javac() -> str:
    home = os.environ.get("JAVA_HOME")
    candidates = [os.path.join(home, "bin", "javac")] if home else []
    found = shutil.which("javac")
    if found:
        candidates.append(found)
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.realpath(c)
    raise JavaRuntimeUnavailable("javac (the Java compiler) is not installed; drumnb compiles H2O POJOs and its "
                                 "scoring helper with it",
                                 hint="apt-get install openjdk-17-jdk-headless (or set JAVA_HOME to a JDK)")


def genmodel_jar() -> str:
    """The jar holding ``hex.genmodel``: ``DRUMNB_H2O_GENMODEL_JAR``, else ``h2o.jar`` of the h2o package."""
    explicit = os.environ.get("DRUMNB_H2O_GENMODEL_JAR")
    if explicit:
        if not os.path.isfile(explicit):
            raise JavaRuntimeUnavailable(f"DRUMNB_H2O_GENMODEL_JAR names a missing file: {explicit}")
        return explicit
    import importlib.util

    spec = importlib.util.find_spec("h2o")
    if spec and spec.origin:
        jar = os.path.join(os.path.dirname(spec.origin), "backend", "bin", "h2o.jar")
        if os.path.isfile(jar):
            return jar
    raise JavaRuntimeUnavailable("H2O models need the hex.genmodel classes, and no jar holding them was found",
                                 hint="pip install 'drumnb[java]' (h2o==3.46.0.11 ships h2o.jar), or set "
                                      "DRUMNB_H2O_GENMODEL_JAR to an h2o-genmodel.jar")


def extra_classpath() -> list[str]:
    """``DRUMNB_JAVA_CLASSPATH``: jars or class folders added to the H2O and jar class loaders."""
    raw = os.environ.get("DRUMNB_JAVA_CLASSPATH", "")
    paths = [os.path.realpath(os.path.expanduser(p)) for p in raw.split(os.pathsep) if p.strip()]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise JavaRuntimeUnavailable(f"DRUMNB_JAVA_CLASSPATH names missing file(s): {missing}",
                                     hint=f"list existing jars or class folders, separated by {os.pathsep!r}")
    return paths


def compile_java(sources: dict[str, str], classpath: list[str], key_extra: str = "") -> str:
    """Compile ``{relative path: source}`` into a cached class folder; returns the folder."""
    jc = javac()
    st = os.stat(jc)
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    h.update(f"{jc}:{st.st_size}:{int(st.st_mtime)}:{key_extra}".encode())
    out = os.path.join(cache_dir(), h.hexdigest()[:24])
    if os.path.isfile(os.path.join(out, ".ok")):
        return out
    os.makedirs(cache_dir(), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="build-", dir=cache_dir())
    try:
        src = os.path.join(tmp, "src")
        files = []
        for name, text in sources.items():
            path = os.path.join(src, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            files.append(path)
        classes = os.path.join(tmp, "classes")
        os.makedirs(classes)
        cmd = [jc, "-nowarn", "-encoding", "UTF-8", "-d", classes]
        if classpath:
            cmd += ["-cp", os.pathsep.join(classpath)]
        xmx = os.environ.get("DRUM_JAVA_XMX")
        if xmx:
            cmd.append(f"-J-Xmx{xmx}")
        # os.environ, not the C environment: variables R code set in this process (Sys.setenv) stay in it
        proc = subprocess.run(cmd + files, capture_output=True, text=True, env=dict(os.environ),
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise ArtifactError(f"javac failed to compile {', '.join(os.path.basename(f) for f in files)}:\n"
                                + (proc.stderr or proc.stdout).strip()[-3000:],
                                hint="an H2O POJO must keep the file name H2O gave it (it is the class name)")
        with open(os.path.join(classes, ".ok"), "w") as fh:
            fh.write("ok\n")
        if os.path.isdir(out) and not os.path.isfile(os.path.join(out, ".ok")):
            shutil.rmtree(out, ignore_errors=True)  # a build interrupted half-way
        try:
            os.replace(classes, out)
        except OSError:  # another process finished the same build first
            if not os.path.isfile(os.path.join(out, ".ok")):
                raise
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

