"""`pool` and `bench` click commands."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from seer.pool import ExperiencePool, HashEmbedder
from seer.seer_mcp.pool_cli import pool as pool_group


def test_pool_commands(tmp_path: Path, shared_dir: Path) -> None:
    ExperiencePool.open("seeds", HashEmbedder(), intent_labels=None).close()
    runner = CliRunner()
    result = runner.invoke(pool_group, ["import", "seeds", str(shared_dir / "seer" / "library.json")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["added"] == 8
    stats = json.loads(runner.invoke(pool_group, ["stats", "seeds", "--json"]).output)
    assert stats["count"] == 8 and stats["per_intent"]["flight"] == 1
    assert "seeds" in runner.invoke(pool_group, ["list"]).output
    shown = runner.invoke(pool_group, ["show", "seeds", "seed-id_2"])
    assert shown.exit_code == 0 and "coffee" in shown.output
    assert runner.invoke(pool_group, ["export", "seeds", str(tmp_path / "x.jsonl")]).exit_code == 0
    assert json.loads(runner.invoke(pool_group, ["prune", "seeds"]).output)["count"] == 8
    missing = runner.invoke(pool_group, ["show", "seeds", "nope"])
    assert missing.exit_code != 0 and "no experience" in missing.output


def test_bench_recall_json_small(tmp_path: Path) -> None:
    from seer.eval.bench.cli import bench

    out = CliRunner().invoke(
        bench, ["recall", "--sizes", "300", "--repeats", "5", "--json", "--workdir", str(tmp_path)]
    )
    assert out.exit_code == 0, out.output
    row = json.loads(out.output)["sizes"][0]
    for key in (
        "n",
        "p50_ms",
        "p99_ms",
        "reference_p50_ms",
        "insert_per_s",
        "bytes_per_experience",
        "mcp_http_p50_ms",
    ):
        assert key in row
