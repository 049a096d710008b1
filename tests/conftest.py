"""Shared fixtures: an isolated SEER_HOME per test and the ../shared real data (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def _user_models_dir() -> str:
    """Where the user's assembled models live, so tests reuse them instead of re-assembling 1.1 GB."""
    base = Path(os.environ.get("SEER_HOME") or platformdirs.user_data_dir("seer-mcp", appauthor=False))
    return str(base / "cache" / "models")


_MODELS_DIR = os.environ.get("SEER_MODELS_DIR") or _user_models_dir()


@pytest.fixture(autouse=True)
def _isolated_seer_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("seer-home")
    monkeypatch.setenv("SEER_HOME", str(home))
    monkeypatch.delenv("SEER_MODELS_DIR", raising=False)
    return home


@pytest.fixture
def user_models_dir(monkeypatch: pytest.MonkeyPatch) -> str:
    """Real-model tests reuse the user's assembled models (1.1 GB) instead of assembling per test."""
    monkeypatch.setenv("SEER_MODELS_DIR", _MODELS_DIR)
    return _MODELS_DIR


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The real data folder ``../shared/data``; tests using it skip when it is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"real data not available: {data} is absent (it sits beside the repo in CI)")
    return data


@pytest.fixture(scope="session")
def real_corpus(shared_dir: Path) -> Path:
    """The official-layout external corpus with the real coffee and SciREX files."""
    return shared_dir / "toolqa" / "external_corpus"


@pytest.fixture(scope="session")
def official_questions(shared_dir: Path) -> Path:
    return shared_dir / "toolqa" / "questions"


@pytest.fixture(scope="session")
def seed_library(shared_dir: Path) -> Path:
    """The official SEER seed library (8 experiences, library.json)."""
    return shared_dir / "seer" / "library.json"
