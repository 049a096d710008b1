"""The ToolQA data a run uses when none is given: a small synthetic corpus with its questions and oracle
seed demonstrations, built once under the cache."""

from __future__ import annotations

from pathlib import Path

import click

from seer.pool.home import cache_dir

SEED_LIBRARY = "seed_library.json"
"""Oracle demonstrations written beside a synthetic corpus (``static`` baseline), from another seed."""


def default_corpus(seed: int = 0) -> Path:
    """A small synthetic corpus (all 8 domains) built once under the cache when no --corpus is given.

    Beside it: ``questions/`` and ``seed_library.json`` (oracle demonstrations for other questions).
    """
    from seer.eval.toolqa.synth import build_corpus, seed_instances
    from seer.eval.toolqa.templates import write_seed_experiences
    from seer.tools import Corpus, ToolSession

    out = cache_dir() / "synthetic" / f"small-seed{seed}"
    marker = out / ".complete"
    if not (marker.exists() and (out / SEED_LIBRARY).exists()):
        click.echo(f"No --corpus given: building a small synthetic ToolQA corpus in {out} ...", err=True)
        report = build_corpus(out, seed=seed, scale="small")
        corpus = Corpus(out / "external_corpus", cache_dir() / "corpus")
        write_seed_experiences(
            out / SEED_LIBRARY, seed_instances(report, seed + 1), lambda: ToolSession(corpus).call
        )
        corpus.close()
        marker.write_text("ok\n")
    return out / "external_corpus"
