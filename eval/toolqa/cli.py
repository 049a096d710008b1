"""``toolqa`` CLI group: build ToolQA-synthetic corpora."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from seer.pool.home import cache_dir

from .synth import build_corpus, seed_instances
from .templates import write_seed_experiences


@click.group("toolqa")
def toolqa() -> None:
    """ToolQA questions and synthetic corpora."""


@toolqa.command("synth")
@click.option("--seed", type=int, required=True, help="Random seed (same seed -> byte-identical files).")
@click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder."
)
@click.option("--scale", type=click.Choice(["small", "full"]), default="small", show_default=True)
@click.option(
    "--coffee-csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Use this real coffee_price.csv instead of a synthetic one.",
)
@click.option(
    "--scirex",
    "scirex_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Use this real SciREX folder (Preprocessed_Scirex.jsonl).",
)
@click.option(
    "--seed-experiences",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write oracle demonstrations (from a different seed) in the SEER library.json format.",
)
def synth(
    seed: int,
    out: Path,
    scale: str,
    coffee_csv: Path | None,
    scirex_dir: Path | None,
    seed_experiences: Path | None,
) -> None:
    """Write a ToolQA-synthetic corpus (official layout) and its easy/hard questions under OUT."""
    console = Console()
    with console.status("building...") as status:
        report = build_corpus(
            out,
            seed,
            scale,  # type: ignore[arg-type]
            coffee_csv,
            scirex_dir,
            progress=lambda d: status.update(f"building {d}..."),
        )
    table = Table(title=f"ToolQA-synthetic corpus (seed {seed}, {scale}) -> {out}")
    for col in ("domain", "rows", "easy q (templates)", "hard q (templates)", "seconds", "note"):
        table.add_column(col)
    for d in report.domains:
        table.add_row(
            d.domain,
            str(d.rows),
            f"{d.questions.get('easy', 0)} ({d.templates['easy']})",
            f"{d.questions.get('hard', 0)} ({d.templates['hard']})",
            f"{d.seconds:.2f}",
            d.note,
        )
    console.print(table)
    console.print(f"{report.total_questions()} questions in {report.seconds:.1f} s")
    if seed_experiences is not None:
        from seer.tools import Corpus, ToolSession

        corpus = Corpus(out / "external_corpus", cache_dir() / "corpus")
        n = write_seed_experiences(
            seed_experiences, seed_instances(report, seed + 1), lambda: ToolSession(corpus).call
        )
        console.print(f"{n} oracle seed experiences -> {seed_experiences}")
