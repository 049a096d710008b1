"""One small synthetic corpus per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from seer.eval.toolqa.synth import BuildReport, build_corpus

SEED = 11


@pytest.fixture(scope="session")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    return build_corpus(tmp_path_factory.mktemp("synth") / "corpus", SEED, "small")


@pytest.fixture(scope="session")
def small_root(small_build: BuildReport) -> Path:
    return small_build.out
